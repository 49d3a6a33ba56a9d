//! The right-hand panes: the workers with their state and task, what waits on a person
//! (approval requests, then questions), and the plugins.

use super::super::app::{App, Pane, Waiting};
use super::board::{dim, header_style};
use super::{SELECTED, pane, selected_style};
use crate::format::cell;
use crate::tasks::worker_state;
use ratatui::Frame;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Row, Table, TableState};

/// Workers: name, state, current task, model.
pub fn workers(frame: &mut Frame, area: Rect, app: &App) {
    let workers = app.workers();
    let busy = workers.iter().filter(|w| w.current_task.is_some()).count();
    let title = format!("Workers · {busy} busy of {}", workers.len());
    let rows = workers.iter().map(|w| {
        let state = worker_state(w);
        Row::new([
            w.name.clone(),
            state.to_owned(),
            w.current_task.clone().unwrap_or_else(|| "-".into()),
            w.model.clone(),
        ])
        .style(Style::new().fg(state_color(state)))
    });
    let widths = [
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Min(6),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["NAME", "STATE", "TASK", "MODEL"]).style(header_style()))
        .block(pane(app, Pane::Workers, title))
        .row_highlight_style(selected_style(app, Pane::Workers))
        .highlight_symbol(SELECTED);
    let mut state = TableState::default().with_selected(app.selected(Pane::Workers));
    frame.render_stateful_widget(table, area, &mut state);
}

fn state_color(state: &str) -> Color {
    match state {
        "busy" => Color::Yellow,
        "paused" => Color::Magenta,
        "leaving" | "suspended" => Color::Red,
        _ => Color::Green,
    }
}

/// Approval requests (tool, arguments) and questions (the task, what it asks).
pub fn waiting(frame: &mut Frame, area: Rect, app: &App) {
    let items = app.waiting();
    let approvals = items
        .iter()
        .filter(|i| matches!(i, Waiting::Approval(_)))
        .count();
    let title = format!(
        "Approvals {approvals} · questions {}",
        items.len() - approvals
    );
    // Inside the borders, after the selection mark.
    let width = (area.width as usize).saturating_sub(2 + SELECTED.chars().count());
    let list: Vec<ListItem> = items
        .iter()
        .map(|item| {
            let (id, text, color) = match item {
                Waiting::Approval(a) => (
                    a.id.to_string(),
                    format!("{} {} {} {}", a.task, a.worker, a.tool, a.args),
                    Color::Magenta,
                ),
                Waiting::Question(t, q) => (
                    t.id.to_string(),
                    format!("asks: {}", q.question),
                    Color::Yellow,
                ),
            };
            let rest = width.saturating_sub(id.chars().count() + 1);
            ListItem::new(Line::from(vec![
                Span::styled(id, Style::new().fg(color)),
                Span::raw(" "),
                Span::raw(cell(&text, rest)),
            ]))
        })
        .collect();
    let empty = list.is_empty();
    let widget = List::new(list)
        .block(pane(app, Pane::Waiting, title))
        .highlight_style(selected_style(app, Pane::Waiting))
        .highlight_symbol(SELECTED);
    let mut state = ListState::default().with_selected(app.selected(Pane::Waiting));
    frame.render_stateful_widget(widget, area, &mut state);
    if empty {
        let inner = area.inner(Margin::new(1, 1));
        frame.render_widget(Paragraph::new("nothing waits on you").style(dim()), inner);
    }
}

/// Plugins: name and state (with why a failed one failed).
pub fn plugins(frame: &mut Frame, area: Rect, app: &App) {
    let plugins = app.plugins();
    let loaded = plugins.iter().filter(|p| p.loaded()).count();
    let title = format!("Plugins · {loaded} of {} loaded", plugins.len());
    let rows = plugins.iter().map(|p| {
        let state = match &p.reason {
            Some(reason) => format!("{} ({reason})", p.state),
            None => p.state.clone(),
        };
        let color = match p.state.as_str() {
            "loaded" => Color::Green,
            "failed" => Color::Red,
            _ => Color::DarkGray,
        };
        Row::new([p.name.clone(), state]).style(Style::new().fg(color))
    });
    let widths = [Constraint::Length(16), Constraint::Min(8)];
    let table = Table::new(rows, widths)
        .block(pane(app, Pane::Plugins, title))
        .row_highlight_style(selected_style(app, Pane::Plugins))
        .highlight_symbol(SELECTED);
    let mut state = TableState::default().with_selected(app.selected(Pane::Plugins));
    frame.render_stateful_widget(table, area, &mut state);
}
