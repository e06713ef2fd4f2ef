//! The real terminal: raw mode and the alternate screen on the way in,
//! everything restored on the way out — on quit, on SIGTERM (the loop
//! returns first), and on panic (the hook restores before the message is
//! printed). Restoring twice is harmless.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is in our mode (raw, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether mouse capture was turned on.
static MOUSE: AtomicBool = AtomicBool::new(false);
static HOOK: std::sync::Once = std::sync::Once::new();

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal while the dashboard owns it; restores on drop.
pub struct Tui {
    pub terminal: Term,
}

fn enter(mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    // Bracketed paste: a paste arrives as one event, never as keystrokes.
    execute!(
        out,
        EnterAlternateScreen,
        cursor::Hide,
        EnableBracketedPaste
    )?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
        MOUSE.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// Puts the terminal back as it was; safe to call from a panic hook and
/// more than once.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

impl Tui {
    pub fn enter(mouse: bool) -> io::Result<Tui> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        if let Err(e) = enter(mouse) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => Ok(Tui { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// ctrl-z: give the terminal back, stop (SIGTSTP), and take it again
    /// with a full redraw once the shell continues the process.
    pub fn suspend(&mut self, mouse: bool) -> io::Result<()> {
        restore();
        raise_sigtstp();
        enter(mouse)?;
        self.terminal.clear()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(unix)]
fn raise_sigtstp() {
    // The C library's raise(3), which std links already: no extra crate
    // for one call. SIGTSTP's number differs between Linux and the BSDs.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SIGTSTP: i32 = 20;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SIGTSTP: i32 = 18;
    unsafe extern "C" {
        fn raise(sig: i32) -> i32;
    }
    // SAFETY: raise only sends a signal to this process; SIGTSTP's default
    // action stops it until SIGCONT, then raise returns.
    unsafe {
        raise(SIGTSTP);
    }
}

#[cfg(not(unix))]
fn raise_sigtstp() {}
