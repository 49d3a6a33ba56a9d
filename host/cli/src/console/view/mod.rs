//! Drawing the console: a pure function of its state onto a ratatui frame.
//!
//! ```text
//! header: host, task counts, event stream        (1 line)
//! budget: today's spend against the daily limit  (1 line)
//! ┌ Tasks ─────────────────┐┌ Workers ────────────┐
//! │ the board              ││ state, current task │
//! └────────────────────────┘└─────────────────────┘
//! ┌ T-4 ───────────────────┐┌ Approvals · questions ┐
//! │ the selected task,     ││ approvals,questions │
//! │ its answer or its      │└─────────────────────┘
//! │ output as it streams   │┌ Plugins ────────────┐
//! └────────────────────────┘└─────────────────────┘
//! status line: the last action's outcome, or the line being typed
//! footer: the keys of the focused pane
//! ```
//!
//! - [`chrome`]: header, budget, status line, footer, help.
//! - [`board`]: the task board and the selected task's detail.
//! - [`panes`]: workers, what waits on a person, plugins.

mod board;
mod chrome;
mod panes;

use super::app::{App, Pane};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType};

/// Draws the whole console.
pub fn draw(frame: &mut Frame, app: &App) {
    let [header, budget, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
    let [tasks, detail] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(left);
    let [workers, waiting, plugins] = Layout::vertical([
        Constraint::Percentage(36),
        Constraint::Percentage(36),
        Constraint::Percentage(28),
    ])
    .areas(right);
    chrome::header(frame, header, app);
    chrome::budget(frame, budget, app);
    board::tasks(frame, tasks, app);
    board::detail(frame, detail, app);
    panes::workers(frame, workers, app);
    panes::waiting(frame, waiting, app);
    panes::plugins(frame, plugins, app);
    chrome::status_line(frame, status, app);
    chrome::footer(frame, footer, app);
    if app.help {
        chrome::help(frame, frame.area());
    }
}

/// A pane's frame: its title, marked and bright when it has the focus.
fn pane(app: &App, which: Pane, title: String) -> Block<'static> {
    let focused = app.focus == which;
    let block = Block::bordered().border_type(BorderType::Rounded);
    if focused {
        block
            .title(format!("▸ {title} "))
            .border_style(Style::new().fg(Color::Cyan))
            .title_style(Style::new().add_modifier(Modifier::BOLD))
    } else {
        block
            .title(format!(" {title} "))
            .border_style(Style::new().fg(Color::DarkGray))
    }
}

/// A frame that never has the focus.
fn plain(title: String) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .title(format!(" {title} "))
        .border_style(Style::new().fg(Color::DarkGray))
}

/// Marks the selected row, also where colours do not show.
const SELECTED: &str = "› ";

/// How the selected row stands out.
fn selected_style(app: &App, which: Pane) -> Style {
    if app.focus == which {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// Integer micro-dollars as dollars with four decimals (`$1.2345`), for narrow places.
fn money(micros: u64) -> String {
    format!("${}.{:04}", micros / 1_000_000, micros % 1_000_000 / 100)
}

#[cfg(test)]
mod tests;
