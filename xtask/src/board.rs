//! Reading `boards/<name>/board.toml`, and checking the sizes it budgets.
//!
//! The `[budget]` table gives the most bytes each stage of the flash image
//! may take ([`Budget`]); `build::images` checks every build against it, so
//! a stage that outgrows its budget fails the build with the figures.

use crate::{Result, fail, root};
use serde::Deserialize;
use std::path::PathBuf;

/// The board used when none is named.
pub const DEFAULT: &str = "qemu-loongson3-virt";

/// A board's build and run description.
#[derive(Debug, Deserialize)]
pub struct Board {
    #[serde(skip)]
    pub name: String,
    pub package: String,
    pub flash_size: usize,
    pub rom_base: u64,
    pub budget: Budget,
    pub qemu: Qemu,
}

/// The most bytes each stage of the flash image may take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The firmware alone: the flash image without any payload.
    pub firmware: usize,
    /// The embedded kernel payload (stripped ELF).
    pub kernel: usize,
}

/// One stage's size against its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageSize {
    /// What `[budget]` calls the stage.
    pub stage: &'static str,
    /// Bytes it takes.
    pub size: usize,
    /// Bytes it may take.
    pub budget: usize,
}

/// `n` bytes in KiB with one decimal, as the size report prints them.
pub fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

impl StageSize {
    /// Bytes left under the budget (negative: over it).
    pub fn headroom(&self) -> i64 {
        self.budget as i64 - self.size as i64
    }
}

impl std::fmt::Display for StageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, by) = match self.size.checked_sub(self.budget) {
            Some(over) if over > 0 => ("over budget", over),
            _ => ("headroom", self.budget - self.size),
        };
        write!(
            f,
            "{}: {} bytes ({}) of a {}-byte budget ({}), {what} {by} bytes ({})",
            self.stage,
            self.size,
            kib(self.size),
            self.budget,
            kib(self.budget),
            kib(by)
        )
    }
}

impl Budget {
    /// Each stage's size against its budget, from the sizes built: the
    /// firmware, and the kernel payload of the normal and the self-test ROM.
    pub fn stages(&self, firmware: usize, kernel: usize, selftest_kernel: usize) -> [StageSize; 3] {
        [
            StageSize { stage: "firmware", size: firmware, budget: self.firmware },
            StageSize { stage: "kernel", size: kernel, budget: self.kernel },
            StageSize { stage: "kernel (self-test)", size: selftest_kernel, budget: self.kernel },
        ]
    }
}

/// Fails, naming every stage over its budget with its size, the budget and
/// the excess, when any stage outgrows its budget.
pub fn check_budgets(stages: &[StageSize], board: &str) -> Result<()> {
    let over: Vec<String> = stages.iter().filter(|s| s.headroom() < 0).map(|s| format!("  {s}")).collect();
    if !over.is_empty() {
        fail!(
            "board '{board}': {} stage{} outgrew {} budget (boards/{board}/board.toml [budget]):\n{}",
            over.len(),
            if over.len() == 1 { "" } else { "s" },
            if over.len() == 1 { "its" } else { "their" },
            over.join("\n")
        );
    }
    Ok(())
}

/// How to start the board's emulator.
#[derive(Debug, Deserialize)]
pub struct Qemu {
    pub binary: String,
    pub args: Vec<String>,
    pub debian_package: String,
    pub gdb_arch: String,
}

impl Board {
    /// Where this board's images go.
    pub fn image_dir(&self) -> PathBuf {
        root().join("target/images").join(&self.name)
    }
}

/// Loads the named board.
pub fn load(name: &str) -> Result<Board> {
    let path = root().join("boards").join(name).join("board.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            let known: Vec<String> = std::fs::read_dir(root().join("boards"))
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            fail!("board '{name}': cannot read {}: {e} (boards: {})", path.display(), known.join(", "))
        }
    };
    let mut board: Board = toml::from_str(&text).map_err(|e| crate::Error(format!("{}: {e}", path.display())))?;
    board.name = name.to_string();
    Ok(board)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget { firmware: 262_144, kernel: 524_288 };

    #[test]
    fn sizes_within_budget_pass_and_show_headroom() {
        let stages = BUDGET.stages(261_784, 208_096, 219_728);
        check_budgets(&stages, "b").unwrap();
        assert_eq!(stages[0].headroom(), 360);
        assert_eq!(
            stages[0].to_string(),
            "firmware: 261784 bytes (255.6 KiB) of a 262144-byte budget (256.0 KiB), headroom 360 bytes (0.4 KiB)"
        );
        // Exactly at the budget is within it.
        check_budgets(&BUDGET.stages(262_144, 524_288, 0), "b").unwrap();
    }

    #[test]
    fn a_stage_over_budget_fails_with_its_figures() {
        let err = check_budgets(&BUDGET.stages(263_192, 1000, 1000), "qemu-loongson3-virt").unwrap_err().0;
        assert!(err.contains("1 stage outgrew its budget (boards/qemu-loongson3-virt/board.toml [budget])"), "{err}");
        assert!(
            err.contains(
                "firmware: 263192 bytes (257.0 KiB) of a 262144-byte budget (256.0 KiB), over budget 1048 bytes (1.0 KiB)"
            ),
            "{err}"
        );
        assert!(!err.contains("kernel:"), "only the stage over budget is named: {err}");
        let both = check_budgets(&BUDGET.stages(262_145, 524_289, 1), "b").unwrap_err().0;
        assert!(both.contains("2 stages outgrew their budget") && both.contains("over budget 1 bytes"), "{both}");
    }

    #[test]
    fn the_boards_budgets_parse() {
        let board = load(DEFAULT).expect("the default board's board.toml");
        assert_eq!(board.budget.firmware, 256 * 1024);
        assert!(board.budget.firmware + board.budget.kernel <= board.flash_size);
    }
}
