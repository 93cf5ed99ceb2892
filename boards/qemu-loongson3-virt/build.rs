//! Hands the board's memory layout to the linker scripts in `linker/`.

include!("src/layout.rs");

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let linker = std::path::Path::new(&manifest).join("../../linker");
    println!("cargo:rerun-if-changed=src/layout.rs");
    println!("cargo:rerun-if-changed={}", linker.join("firmware.ld").display());
    println!("cargo:rerun-if-changed={}", linker.join("kernel.ld").display());
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("mips64") {
        return;
    }
    // Segments need no 64 KiB file alignment: keep the images small.
    println!("cargo:rustc-link-arg=-zmax-page-size=4096");
    let fw = [
        ("FW_ROM_BASE", ROM_VA),
        ("FW_ROM_SIZE", FLASH_SIZE),
        ("FW_RAM_BASE", KSEG0 + FIRMWARE_RAM_PA),
        ("FW_RAM_SIZE", FIRMWARE_RAM_SIZE),
        ("FW_STACK_SIZE", FIRMWARE_STACK_SIZE),
    ];
    for (name, value) in fw {
        println!("cargo:rustc-link-arg-bin=firmware=--defsym={name}={value:#x}");
    }
    println!("cargo:rustc-link-arg-bin=firmware=-T{}", linker.join("firmware.ld").display());
    for (name, value) in [("KERNEL_BASE", KERNEL_BASE_VA), ("KERNEL_BOOT_STACK_SIZE", KERNEL_BOOT_STACK_SIZE)] {
        println!("cargo:rustc-link-arg-bin=kernel=--defsym={name}={value:#x}");
    }
    println!("cargo:rustc-link-arg-bin=kernel=-T{}", linker.join("kernel.ld").display());
}
