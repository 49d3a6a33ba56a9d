//! The terminal the console draws on: refused when there is none, switched to raw mode on
//! the alternate screen while the console runs, and given back as it was however the
//! console ends — a return, an error or a panic. Keys are read on a thread of their own
//! and handed to the loop.

use anyhow::{Context, Result, bail};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::io::{IsTerminal, Stdout};
use std::sync::Once;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the key reader looks whether the console is still there.
const KEY_POLL: Duration = Duration::from_millis(100);

/// Refuses to start without a terminal to draw on and read keys from.
pub fn require_terminal() -> Result<()> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    bail!(
        "`hypernet console` needs a terminal: its standard input and output are not one \
         (in scripts, use `hypernet status --watch` or the other commands' --json)"
    )
}

/// The terminal in the console's hands; given back when dropped.
pub struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    /// Takes the terminal over: raw mode, the alternate screen, pasted text as one event.
    pub fn enter() -> Result<Screen> {
        restore_on_panic();
        enable_raw_mode().context("switching the terminal to raw mode")?;
        let terminal = match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(terminal) => terminal,
            Err(err) => {
                restore();
                return Err(err).context("opening the terminal");
            }
        };
        // From here on, dropping the screen gives the terminal back.
        let mut screen = Screen { terminal };
        execute!(
            screen.terminal.backend_mut(),
            EnterAlternateScreen,
            EnableBracketedPaste
        )
        .context("switching to the alternate screen")?;
        screen.terminal.clear().context("clearing the screen")?;
        Ok(screen)
    }

    /// Draws one frame.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> Result<()> {
        self.terminal
            .draw(render)
            .map(|_| ())
            .context("drawing on the terminal")
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back: cooked mode, the main screen, the cursor shown.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
}

/// Gives the terminal back before a panic's message is printed, so that it can be read
/// and the shell works after it.
fn restore_on_panic() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            report(info);
        }));
    });
}

/// Reads the terminal's events on a thread of their own; it stops when the receiver is
/// dropped, or after passing on a read error.
pub fn events() -> mpsc::Receiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::channel(64);
    let reader = move || {
        while !tx.is_closed() {
            let read = match event::poll(KEY_POLL) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(err) => Err(err),
            };
            let failed = read.is_err();
            if tx.blocking_send(read).is_err() || failed {
                return;
            }
        }
    };
    // Without the thread no key arrives: the loop then sees the channel closed and stops.
    let _ = std::thread::Builder::new()
        .name("console-keys".into())
        .spawn(reader);
    rx
}
