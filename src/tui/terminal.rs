//! The terminal guard: raw mode and the alternate screen on the way in,
//! restored on every way out (return, error, panic via ratatui's hook, and
//! the signals the event loop turns into a normal return).

use std::io;

use ratatui::DefaultTerminal;

pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen. ratatui's init installs a
    /// panic hook that restores the terminal before the panic is printed.
    /// The fullscreen viewport never queries the cursor position, which
    /// some links (SSM) leave unanswered.
    pub fn enter() -> io::Result<TerminalGuard> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Idempotent; errors cannot be reported anywhere useful now.
        ratatui::restore();
    }
}
