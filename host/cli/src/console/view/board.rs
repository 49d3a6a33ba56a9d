//! The task board and the detail of the selected task: its fields, its question, and its
//! answer — or, while its call streams, the text so far, following the end.

use super::super::app::{App, Pane};
use super::super::output::Live;
use super::{SELECTED, pane, plain, selected_style};
use crate::tasks::word;
use hypernet_model::tasks::{Task, TaskStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// The board: id, status, priority, worker, title.
pub fn tasks(frame: &mut Frame, area: Rect, app: &App) {
    let board = app.board();
    let total = app.snapshot.as_ref().map_or(0, |s| s.tasks_total);
    let title = format!(
        "Tasks · {} · {} of {total}",
        app.filter.label(),
        board.len()
    );
    let rows = board.iter().map(|t| {
        Row::new([
            t.id.to_string(),
            t.status.to_string(),
            priority(t),
            t.worker.clone().unwrap_or_else(|| "-".into()),
            t.title.clone(),
        ])
        .style(Style::new().fg(status_color(t.status)))
    });
    let widths = [
        Constraint::Length(6),
        Constraint::Length(11),
        Constraint::Length(4),
        Constraint::Length(8),
        Constraint::Min(8),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["ID", "STATUS", "PRI", "WORKER", "TITLE"]).style(header_style()))
        .block(pane(app, Pane::Tasks, title))
        .row_highlight_style(selected_style(app, Pane::Tasks))
        .highlight_symbol(SELECTED);
    let mut state = TableState::default().with_selected(app.selected(Pane::Tasks));
    frame.render_stateful_widget(table, area, &mut state);
    if board.is_empty() {
        let inner = area.inner(ratatui::layout::Margin::new(1, 2));
        let empty = if app.snapshot.is_none() {
            "reading the host…"
        } else {
            "no tasks here (n files one; s and / change the filter)"
        };
        frame.render_widget(Paragraph::new(empty).style(dim()), inner);
    }
}

/// The selected task in detail.
pub fn detail(frame: &mut Frame, area: Rect, app: &App) {
    let Some(task) = app.task() else {
        let empty = Paragraph::new("no task selected").style(dim());
        frame.render_widget(empty.block(plain("Task".into())), area);
        return;
    };
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let live = app.outputs.get(task.id).filter(|_| task.result.is_none());
    let lines = detail_lines(task, live, width);
    // A streaming answer follows its end; anything else reads from the top.
    let scroll = if live.is_some() && task.status.is_unfinished() {
        lines.len().saturating_sub(height)
    } else {
        (app.scroll as usize).min(lines.len().saturating_sub(height))
    };
    let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(
        Paragraph::new(shown).block(plain(task.id.to_string())),
        area,
    );
}

/// The detail's lines, wrapped to `width`.
fn detail_lines(task: &Task, live: Option<&Live>, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut facts = vec![
        task.status.to_string(),
        word(&task.priority),
        task.worker.clone().unwrap_or_else(|| "no worker".into()),
    ];
    if !task.model.is_empty() {
        facts.push(task.model.clone());
    }
    facts.push(format!("attempt {}/{}", task.attempts, task.max_attempts));
    let status = Style::new().fg(status_color(task.status));
    lines.extend(wrapped(&facts.join(" · "), width, status));
    lines.extend(wrapped(
        &task.title,
        width,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    if !task.description.trim().is_empty() {
        lines.extend(wrapped(&task.description, width, Style::new()));
    }
    if let Some(reason) = &task.blocked_reason {
        lines.extend(wrapped(&format!("blocked: {reason}"), width, dim()));
    }
    if let Some(error) = &task.error {
        let red = Style::new().fg(Color::Red);
        lines.extend(wrapped(&format!("error: {error}"), width, red));
    }
    for c in &task.clarifications {
        let asked = format!("{} asked: {}", c.asked_by, c.question);
        lines.extend(wrapped(&asked, width, Style::new().fg(Color::Yellow)));
        let answer = match (&c.answer, c.approval) {
            (Some(answer), _) => format!("answer: {answer}"),
            (None, Some(id)) => {
                format!("held: {id} waits for approval (y or d in the approvals pane)")
            }
            (None, None) => "answer: - (a answers)".to_owned(),
        };
        lines.extend(wrapped(&answer, width, Style::new().fg(Color::Yellow)));
    }
    let (heading, text) = match (&task.result, live) {
        (Some(result), _) => ("answer".to_owned(), result.text.as_str()),
        (None, Some(live)) => (
            format!("streaming answer (call {})", live.calls),
            live.text.as_str(),
        ),
        (None, None) if task.status == TaskStatus::Running => {
            ("waiting for the answer".to_owned(), "")
        }
        (None, None) => return lines,
    };
    let cyan = Style::new().fg(Color::Cyan);
    lines.extend(wrapped(&format!("── {heading}"), width, cyan));
    lines.extend(wrapped(text, width, Style::new()));
    lines
}

/// `text` as lines of at most `width` characters, broken between words where it can be
/// and inside a word longer than a line; its own line breaks kept.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for source in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in source.split(' ') {
            let mut word_len = word.chars().count();
            if len > 0 && len + 1 + word_len > width {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            let mut rest = word;
            while word_len > width - len {
                let (head, tail) = split_at_char(rest, width - len);
                line.push_str(head);
                out.push(std::mem::take(&mut line));
                rest = tail;
                word_len -= width - len;
                len = 0;
            }
            line.push_str(rest);
            len += word_len;
        }
        out.push(line);
    }
    out
}

fn split_at_char(text: &str, chars: usize) -> (&str, &str) {
    let at = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    text.split_at(at)
}

fn wrapped(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    wrap(text, width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

/// `crit`, `high`, `norm`, `low`.
fn priority(task: &Task) -> String {
    word(&task.priority).chars().take(4).collect()
}

/// The colour a status is shown in.
pub(super) fn status_color(status: TaskStatus) -> Color {
    match status {
        TaskStatus::Running | TaskStatus::Assigned => Color::Yellow,
        TaskStatus::NeedsInput => Color::Magenta,
        TaskStatus::Completed => Color::Green,
        TaskStatus::Failed => Color::Red,
        TaskStatus::Cancelled | TaskStatus::Blocked => Color::DarkGray,
        TaskStatus::Pending | TaskStatus::Ready | TaskStatus::Delegated => Color::Reset,
    }
}

pub(super) fn header_style() -> Style {
    Style::new()
        .fg(Color::Gray)
        .add_modifier(Modifier::UNDERLINED)
}

pub(super) fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn text_wraps_between_words_and_inside_long_ones() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 4), ["a", "", "b"]);
        assert_eq!(wrap("ab cdefgh", 4), ["ab", "cdef", "gh"]);
        assert_eq!(wrap("éé éé", 2), ["éé", "éé"]);
        assert_eq!(wrap("", 4), Vec::<String>::new());
    }
}
