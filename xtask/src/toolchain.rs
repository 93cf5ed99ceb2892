//! Making sure the toolchain has what `rust-toolchain.toml` names.
//!
//! rustup does not always add a toolchain file's `components` when it
//! installs or selects the channel: on a fresh machine the nightly had no
//! `rust-src` (so `-Zbuild-std` failed) and no `llvm-tools` (so there was
//! no `llvm-objcopy` to flatten the ROM). Every xtask command that builds
//! calls [`ensure`] first: it reads the list from the file, asks rustup
//! what is installed, and adds what is missing in one step with one
//! message, before anything builds.

use crate::build::{host_triple, run_echoed};
use crate::{Result, fail, root};
use std::process::Command;

/// The toolchain file, relative to the workspace root.
const TOOLCHAIN_FILE: &str = "rust-toolchain.toml";

/// What the toolchain file asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The `channel` key.
    pub channel: String,
    /// The `components` list.
    pub components: Vec<String>,
    /// The `targets` list (empty when the file has none).
    pub targets: Vec<String>,
}

/// Reads `channel`, `components` and `targets` from the `[toolchain]`
/// table of a `rust-toolchain.toml`.
pub fn parse(text: &str) -> Result<Wanted> {
    let doc: toml::Table = text.parse().map_err(|e| crate::Error(format!("{TOOLCHAIN_FILE}: {e}")))?;
    let Some(tc) = doc.get("toolchain").and_then(|t| t.as_table()) else {
        fail!("{TOOLCHAIN_FILE} has no [toolchain] table");
    };
    let Some(channel) = tc.get("channel").and_then(|c| c.as_str()) else {
        fail!("{TOOLCHAIN_FILE}: [toolchain] has no channel");
    };
    let list = |key: &str| -> Result<Vec<String>> {
        match tc.get(key) {
            None => Ok(Vec::new()),
            Some(v) => v
                .as_array()
                .ok_or(crate::Error(format!("{TOOLCHAIN_FILE}: {key} is not a list")))?
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(String::from)
                        .ok_or(crate::Error(format!("{TOOLCHAIN_FILE}: {key} holds a non-string")))
                })
                .collect(),
        }
    };
    Ok(Wanted { channel: channel.to_string(), components: list("components")?, targets: list("targets")? })
}

/// Names in `wanted` that `installed` lacks. `installed` is what
/// `rustup component list --installed` (or `target list --installed`)
/// printed: platform components carry the host triple as a suffix
/// (`clippy-x86_64-unknown-linux-gnu`), `rust-src` carries none.
///
/// rustup lists `llvm-tools` under its older name `llvm-tools-preview`
/// on some releases; either spelling counts.
pub fn missing<'a>(wanted: &'a [String], installed: &str, host: &str) -> Vec<&'a str> {
    let suffix = format!("-{host}");
    let have: Vec<&str> = installed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_suffix(suffix.as_str()).unwrap_or(l))
        .collect();
    let present = |name: &str| have.contains(&name);
    wanted
        .iter()
        .map(String::as_str)
        .filter(|w| match *w {
            "llvm-tools" | "llvm-tools-preview" => !present("llvm-tools") && !present("llvm-tools-preview"),
            other => !present(other),
        })
        .collect()
}

/// Lines of `rustup <args…> --toolchain CHANNEL`.
fn rustup_lines(channel: &str, args: &[&str]) -> Result<String> {
    let out = Command::new("rustup")
        .current_dir(root())
        .args(args)
        .args(["--toolchain", channel])
        .output()
        .map_err(|e| crate::Error(format!("cannot run rustup to check the toolchain: {e}")))?;
    if !out.status.success() {
        fail!("rustup {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the components and targets the toolchain file names that the
/// active toolchain lacks. Prints nothing when all are there.
pub fn ensure() -> Result<()> {
    let path = root().join(TOOLCHAIN_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| crate::Error(format!("cannot read {}: {e}", path.display())))?;
    let wanted = parse(&text)?;
    let components = rustup_lines(&wanted.channel, &["component", "list", "--installed"])?;
    let host = host_triple()?;
    let missing_components = missing(&wanted.components, &components, &host);
    let targets = if wanted.targets.is_empty() {
        String::new()
    } else {
        rustup_lines(&wanted.channel, &["target", "list", "--installed"])?
    };
    let missing_targets = missing(&wanted.targets, &targets, &host);
    if missing_components.is_empty() && missing_targets.is_empty() {
        return Ok(());
    }
    let all: Vec<&str> = missing_components.iter().chain(&missing_targets).copied().collect();
    eprintln!(
        "xtask: the {} toolchain lacks {} named in {TOOLCHAIN_FILE}; installing with rustup",
        wanted.channel,
        all.join(", ")
    );
    if !missing_components.is_empty() {
        let mut cmd = Command::new("rustup");
        cmd.current_dir(root()).args(["component", "add", "--toolchain", &wanted.channel]).args(&missing_components);
        run_echoed(&mut cmd)?;
    }
    if !missing_targets.is_empty() {
        let mut cmd = Command::new("rustup");
        cmd.current_dir(root()).args(["target", "add", "--toolchain", &wanted.channel]).args(&missing_targets);
        run_echoed(&mut cmd)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "x86_64-unknown-linux-gnu";

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_the_projects_own_toolchain_file() {
        let text = std::fs::read_to_string(root().join(TOOLCHAIN_FILE)).unwrap();
        let w = parse(&text).unwrap();
        assert_eq!(w.channel, "nightly");
        for c in ["rust-src", "llvm-tools"] {
            assert!(w.components.iter().any(|x| x == c), "{c} missing from {:?}", w.components);
        }
    }

    #[test]
    fn finds_the_components_a_fresh_machine_lacked() {
        // What `rustup component list --installed` printed on the fresh
        // machine where .ci/run failed.
        let installed = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n\
                         rust-docs-x86_64-unknown-linux-gnu\nrust-std-x86_64-unknown-linux-gnu\n\
                         rustc-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n";
        let wanted = strings(&["rust-src", "rustfmt", "clippy", "llvm-tools"]);
        assert_eq!(missing(&wanted, installed, HOST), ["rust-src", "llvm-tools"]);
    }

    #[test]
    fn installed_components_count_with_or_without_suffix() {
        let installed = "rust-src\nllvm-tools-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n\
                         clippy-x86_64-unknown-linux-gnu\n";
        let wanted = strings(&["rust-src", "rustfmt", "clippy", "llvm-tools"]);
        assert!(missing(&wanted, installed, HOST).is_empty());
        // The older name of the same component.
        assert!(missing(&strings(&["llvm-tools"]), "llvm-tools-preview-x86_64-unknown-linux-gnu\n", HOST).is_empty());
    }

    #[test]
    fn a_prefix_of_another_component_is_not_that_component() {
        // `rust` must not be satisfied by `rust-src` or `rust-docs-…`.
        assert_eq!(missing(&strings(&["rust"]), "rust-src\nrust-docs-x86_64-unknown-linux-gnu\n", HOST), ["rust"]);
        // A component for another host is not this host's.
        assert_eq!(missing(&strings(&["clippy"]), "clippy-aarch64-unknown-linux-gnu\n", HOST), ["clippy"]);
    }

    #[test]
    fn missing_table_or_channel_is_an_error_with_the_file_name() {
        let e = parse("[other]\nx = 1\n").unwrap_err();
        assert!(e.0.contains("no [toolchain] table"), "{}", e.0);
        let e = parse("[toolchain]\ncomponents = []\n").unwrap_err();
        assert!(e.0.contains("no channel"), "{}", e.0);
    }
}
