//! Reading `boards/<name>/board.toml`.

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
    pub qemu: Qemu,
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
