//! What frames the panes: the header (host, task counts, the event stream), the budget
//! line, the status line (an action's outcome, or the line being typed), the footer with
//! the focused pane's keys, and the help.

use super::super::app::{App, Pane, Stream};
use super::board::dim;
use super::money;
use crate::tasks::counts;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, LineGauge, Paragraph};

/// The host, what is open and finished, and whether events stream.
pub fn header(frame: &mut Frame, area: Rect, app: &App) {
    let title = Span::styled(
        " hypernet console ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    );
    let host = app.host.strip_prefix("http://").unwrap_or(&app.host);
    let mut spans = vec![title, Span::raw(format!(" {host} · "))];
    // A host that does not answer says why; its event stream is lost with it.
    if let Some(why) = &app.unreachable {
        let red = Style::new().fg(Color::Red);
        spans.push(Span::styled(format!("host not reachable: {why}"), red));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    spans.push(match &app.stream {
        Stream::Live => Span::styled("live", Style::new().fg(Color::Green)),
        Stream::Connecting => Span::styled("connecting", Style::new().fg(Color::Yellow)),
        Stream::Down(why) => {
            Span::styled(format!("events lost: {why}"), Style::new().fg(Color::Red))
        }
    });
    if let Some(s) = &app.snapshot {
        let or_none = |text: String| if text.is_empty() { "none".into() } else { text };
        spans.push(Span::raw(format!(
            " · open: {} · finished: {}",
            or_none(counts(&s.open)),
            or_none(counts(&s.finished))
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Today's spend against the daily limit, as a gauge when there is one.
pub fn budget(frame: &mut Frame, area: Rect, app: &App) {
    let Some(b) = app.snapshot.as_ref().map(|s| &s.budget) else {
        return;
    };
    let paused = if b.paused { " · paid work paused" } else { "" };
    let spent = money(b.spent_today_micros);
    let Some(limit) = b.daily_limit_micros.filter(|l| *l > 0) else {
        let text = format!(" budget today {spent} (no daily limit){paused}");
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let ratio = (b.spent_today_micros as f64 / limit as f64).clamp(0.0, 1.0);
    let color = match ratio {
        r if r >= 0.9 => Color::Red,
        r if r >= 0.6 => Color::Yellow,
        _ => Color::Green,
    };
    let label = format!(
        " budget today {spent} of {} ({:.0}%){paused} ",
        money(limit),
        ratio * 100.0
    );
    let gauge = LineGauge::default()
        .ratio(ratio)
        .label(label)
        .filled_style(Style::new().fg(color))
        .unfilled_style(dim());
    frame.render_widget(gauge, area);
}

/// The line being typed, else the last action's outcome, else a hint.
pub fn status_line(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(prompt) = &app.prompt {
        let label = prompt.kind.label();
        let line = Line::from(vec![
            Span::styled(label.clone(), Style::new().fg(Color::Cyan)),
            Span::raw(prompt.text.clone()),
        ]);
        // Show the end of a long line, where the cursor is.
        let typed = (label.chars().count() + prompt.text.chars().count()) as u16;
        let shift = typed.saturating_sub(area.width.saturating_sub(1));
        frame.render_widget(Paragraph::new(line).scroll((0, shift)), area);
        let x = area.x + typed - shift;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    let line = match &app.notice {
        Some(n) if n.ok => Line::styled(format!("✓ {}", n.text), Style::new().fg(Color::Green)),
        Some(n) => Line::styled(format!("✗ {}", n.text), Style::new().fg(Color::Red)),
        None => Line::styled("? shows every key", dim()),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys of the focused pane, then the ones that work everywhere.
pub fn footer(frame: &mut Frame, area: Rect, app: &App) {
    let own: &[(&str, &str)] = match app.focus {
        Pane::Tasks => &[
            ("n", "new"),
            ("c", "cancel"),
            ("r", "retry"),
            ("a", "answer"),
            ("s", "status"),
            ("/", "find"),
        ],
        Pane::Workers => &[("p", "pause/resume"), ("+", "add"), ("-", "remove")],
        Pane::Waiting => &[("y", "approve"), ("d", "deny"), ("a", "answer")],
        Pane::Plugins => &[("e", "enable/disable")],
    };
    let every = [("Tab", "pane"), ("?", "help"), ("q", "quit")];
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let spans: Vec<Span> = own
        .iter()
        .chain(&every)
        .flat_map(|(k, what)| [Span::styled(*k, key), Span::raw(format!(" {what}  "))])
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Every key, in a box over the panes.
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    ("↑ ↓ / k j", "move in the pane"),
    ("Home / End", "first / last"),
    ("PgUp / PgDn", "scroll the task's detail"),
    ("n", "file a new task (type its title)"),
    ("c / r", "cancel / retry the selected task"),
    ("a", "answer the selected task's question"),
    ("s / S", "board: next / previous status filter"),
    ("/", "board: titles containing… (Esc clears)"),
    ("y / d", "approve / deny the selected request"),
    ("p", "pause or resume the selected worker"),
    ("+ / -", "add a worker / remove the selected one"),
    ("e", "enable or disable the selected plugin"),
    ("?", "this help (any key closes it)"),
    ("q / Esc", "quit (Esc leaves a prompt first)"),
];

/// The help box.
pub fn help(frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {keys:<16}"),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    let height = lines.len() as u16 + 2;
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(62)])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .title(" Keys ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
