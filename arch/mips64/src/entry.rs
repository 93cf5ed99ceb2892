//! Entry assembly: the firmware reset vector, the kernel entry point, and the
//! exception vectors with full register save and restore.
//!
//! Each piece is a macro that the board's binary expands once, naming the
//! Rust functions to call, so the assembly text stays here in the CPU crate
//! while the symbols it calls belong to the binary.
//!
//! Register contracts:
//!
//! * `firmware_reset_entry!` — entered at the reset vector by every core with
//!   Status = BEV|ERL and nothing else valid. Core 0 (EBase.CPUNum = 0) sets
//!   Status = BEV|KX|SX|UX, loads gp and sp from the linker script, copies
//!   the firmware's code and data from ROM to RAM, zeroes .bss and calls
//!   `main()` in RAM (never returns). The BEV vectors stay in ROM and jump
//!   to the trap entry in RAM.
//!   Every other core parks: it waits for the boot core to publish the park
//!   word (`__tianshan_park_info`: magic, CPU count, numbering), computes
//!   its own IPI block, clears that block's MAILBOX0, writes `PARKED_MARKER`
//!   to its MAILBOX3, and polls MAILBOX0 (64-bit) from ROM with registers
//!   only. When MAILBOX0 becomes non-zero it loads sp ← MAILBOX1,
//!   gp ← MAILBOX2, a1 ← MAILBOX3 and jumps there (the Loongson convention,
//!   `shared/specs/lefi-boot-protocol.md` §12.3).
//! * `kernel_entry!` — entered by the firmware with a0 = handoff magic,
//!   a1 = boot-info address (see `docs/boot-protocol.md`). Loads gp and the
//!   boot stack, zeroes .bss, calls `main(a0, a1)` (never returns).
//! * Trap entry (both) — on any exception: saves r1..r31, HI, LO, EPC,
//!   Status, Cause, BadVAddr in a `TrapFrame` on the current stack, calls
//!   `handler(&mut TrapFrame)`, restores everything from the (possibly
//!   changed) frame and `eret`s. k0/k1 are clobbered, as the ABI allows.

/// The trap save/call/restore sequence; `$handler` is called with a0 = frame.
#[doc(hidden)]
#[macro_export]
macro_rules! __trap_common_asm {
    () => {
        concat!(
            ".set push\n",
            ".set noat\n",
            "    daddiu $sp, $sp, -304\n",
            "    sd $zero, 0($sp)\n    sd $1, 8($sp)\n    sd $2, 16($sp)\n    sd $3, 24($sp)\n",
            "    sd $4, 32($sp)\n    sd $5, 40($sp)\n    sd $6, 48($sp)\n    sd $7, 56($sp)\n",
            "    sd $8, 64($sp)\n    sd $9, 72($sp)\n    sd $10, 80($sp)\n    sd $11, 88($sp)\n",
            "    sd $12, 96($sp)\n    sd $13, 104($sp)\n    sd $14, 112($sp)\n    sd $15, 120($sp)\n",
            "    sd $16, 128($sp)\n    sd $17, 136($sp)\n    sd $18, 144($sp)\n    sd $19, 152($sp)\n",
            "    sd $20, 160($sp)\n    sd $21, 168($sp)\n    sd $22, 176($sp)\n    sd $23, 184($sp)\n",
            "    sd $24, 192($sp)\n    sd $25, 200($sp)\n    sd $26, 208($sp)\n    sd $27, 216($sp)\n",
            "    sd $28, 224($sp)\n    sd $30, 240($sp)\n    sd $31, 248($sp)\n",
            "    daddiu $k0, $sp, 304\n    sd $k0, 232($sp)\n",
            "    mfhi $k0\n    sd $k0, 256($sp)\n",
            "    mflo $k0\n    sd $k0, 264($sp)\n",
            "    dmfc0 $k0, $14, 0\n    sd $k0, 272($sp)\n",
            "    mfc0 $k0, $12, 0\n    sd $k0, 280($sp)\n",
            "    mfc0 $k0, $13, 0\n    sd $k0, 288($sp)\n",
            "    dmfc0 $k0, $8, 0\n    sd $k0, 296($sp)\n",
            "    move $a0, $sp\n",
            "    dla $t9, {handler}\n",
            "    jalr $t9\n",
            "    ld $k0, 256($sp)\n    mthi $k0\n",
            "    ld $k0, 264($sp)\n    mtlo $k0\n",
            "    ld $k0, 272($sp)\n    dmtc0 $k0, $14, 0\n",
            "    ld $k0, 280($sp)\n    mtc0 $k0, $12, 0\n",
            "    ehb\n",
            "    ld $1, 8($sp)\n    ld $2, 16($sp)\n    ld $3, 24($sp)\n",
            "    ld $4, 32($sp)\n    ld $5, 40($sp)\n    ld $6, 48($sp)\n    ld $7, 56($sp)\n",
            "    ld $8, 64($sp)\n    ld $9, 72($sp)\n    ld $10, 80($sp)\n    ld $11, 88($sp)\n",
            "    ld $12, 96($sp)\n    ld $13, 104($sp)\n    ld $14, 112($sp)\n    ld $15, 120($sp)\n",
            "    ld $16, 128($sp)\n    ld $17, 136($sp)\n    ld $18, 144($sp)\n    ld $19, 152($sp)\n",
            "    ld $20, 160($sp)\n    ld $21, 168($sp)\n    ld $22, 176($sp)\n    ld $23, 184($sp)\n",
            "    ld $24, 192($sp)\n    ld $25, 200($sp)\n",
            "    ld $28, 224($sp)\n    ld $30, 240($sp)\n    ld $31, 248($sp)\n",
            "    ld $sp, 232($sp)\n",
            "    eret\n",
            ".set pop\n",
        )
    };
}

/// Expands to the firmware's reset vector, BEV exception vectors and trap
/// entry. `main: fn() -> !`; `trap: extern "C" fn(&mut TrapFrame)`.
#[macro_export]
macro_rules! firmware_reset_entry {
    (main = $main:path, trap = $trap:path, pm_control = $pm:expr $(,)?) => {
        core::arch::global_asm!(
            ".section .text.reset, \"ax\", @progbits",
            ".globl _reset",
            "_reset:",
            // Status = BEV | KX | SX | UX: ERL and EXL off, interrupts off.
            "    lui $t0, 0x0040",
            "    ori $t0, $t0, 0x00e0",
            "    mtc0 $t0, $12, 0",
            "    mtc0 $zero, $13, 0",
            "    ehb",
            // Only EBase.CPUNum 0 continues; the rest park.
            "    mfc0 $t0, $15, 1",
            "    andi $t0, $t0, 0x3ff",
            "    bnez $t0, __tianshan_park",
            "    dla $gp, _gp",
            "    dla $sp, __stack_top",
            // Copy code, read-only data and data from ROM to RAM, 8 bytes
            // a step (the linker script keeps both ends 16-byte aligned).
            "    dla $t0, __reloc_lma",
            "    dla $t1, __reloc_start",
            "    dla $t2, __reloc_end",
            "1:  beq $t1, $t2, 2f",
            "    ld $t3, 0($t0)",
            "    sd $t3, 0($t1)",
            "    daddiu $t0, $t0, 8",
            "    daddiu $t1, $t1, 8",
            "    b 1b",
            "2:  dla $t1, __bss_start",
            "    dla $t2, __bss_end",
            "3:  beq $t1, $t2, 4f",
            "    sd $zero, 0($t1)",
            "    daddiu $t1, $t1, 8",
            "    b 3b",
            // Make the copied code visible to instruction fetch, then run
            // the rest from RAM. (On QEMU caches are not modelled; on
            // hardware this follows cache initialisation.)
            "4:  sync",
            "    dla $t9, {main}",
            "    jalr.hb $t9",
            // Secondary cores. t0 = park word address.
            // The park loop and the OS services follow the BEV vectors in ROM.
            ".section .text.rom_services, \"ax\", @progbits",
            ".globl __tianshan_park",
            "__tianshan_park:",
            "9:  dla $t0, __tianshan_park_info",
            "10: ld $t1, 0($t0)",
            "    dsrl32 $t2, $t1, 0",
            "    li $t3, 0x5453504b",       // "TSPK": the park word is valid
            "    bne $t2, $t3, 10b",
            "    andi $8, $t1, 0xffff",   // CPU count N
            "    srl $9, $t1, 16",
            "    andi $9, $9, 0xff",     // 1 = reversed numbering (QEMU 10.0.2)
            "    mfc0 $10, $15, 1",
            "    andi $10, $10, 0x3ff",    // EBase.CPUNum
            "    beqz $9, 11f",
            "    addiu $11, $8, -1",
            "    subu $10, $11, $10",      // block = N - 1 - CPUNum
            // Block address: 0x9000_0000_3FF0_1000 + ((i & 3) << 8) + ((i >> 2) << 44)
            "11: andi $11, $10, 3",
            "    sll $11, $11, 8",
            "    srl $t8, $10, 2",
            "    dsll32 $t8, $t8, 12",
            "    daddu $11, $11, $t8",
            "    lui $t8, 0x9000",
            "    dsll32 $t8, $t8, 0",
            "    daddu $11, $11, $t8",
            "    lui $t8, 0x3ff0",
            "    ori $t8, $t8, 0x1000",
            "    daddu $11, $11, $t8",
            "    sd $zero, 0x20($11)",     // MAILBOX0 = 0
            "    li $t8, 0x5041524b",      // PARKED_MARKER "PARK"
            "    sd $t8, 0x38($11)",       // MAILBOX3 = marker (handshake)
            "    sync",
            "12: ld $t9, 0x20($11)",
            "    bnez $t9, 13f",
            "    li $t8, 64",              // a short pause between polls
            "14: addiu $t8, $t8, -1",
            "    bnez $t8, 14b",
            "    b 12b",
            "13: ld $sp, 0x28($11)",
            "    ld $gp, 0x30($11)",
            "    ld $a1, 0x38($11)",
            "    jr $t9",
            // Services an OS calls after the firmware is gone: they live in
            // ROM. Power control: one byte at {pm} (KSEG1).
            ".globl __tianshan_rom_reset",
            "__tianshan_rom_reset:",
            "    dli $t0, {pm}",
            "    sb $zero, 0($t0)",
            "15: b 15b",
            ".globl __tianshan_rom_poweroff",
            "__tianshan_rom_poweroff:",
            "    dli $t0, {pm}",
            "    li $t1, 0xff",
            "    sb $t1, 0($t0)",
            "16: b 16b",
            ".globl __tianshan_rom_suspend",
            "__tianshan_rom_suspend:",
            "    dli $t0, {pm}",
            "    li $t1, 1",
            "    sb $t1, 0($t0)",
            "    jr $ra",
            // A released core enters an OS that wants a0..a3: gp points at
            // {{a0, a2, a3, entry}} (a1 came from MAILBOX3).
            ".globl __tianshan_rom_enter_os",
            "__tianshan_rom_enter_os:",
            "    ld $a0, 0($gp)",
            "    ld $a2, 8($gp)",
            "    ld $a3, 16($gp)",
            "    ld $t9, 24($gp)",
            "    mtc0 $zero, $13, 0",
            "    mtc0 $zero, $12, 0",
            "    ehb",
            "    jr.hb $t9",
            ".section .bss.tianshan_park, \"aw\", @nobits",
            ".balign 16",
            ".globl __tianshan_park_info",
            "__tianshan_park_info:",
            ".space 16",
            ".section .text.vector.tlb_refill, \"ax\", @progbits",
            "    dla $k0, __tianshan_fw_trap",
            "    jr $k0",
            ".section .text.vector.xtlb_refill, \"ax\", @progbits",
            "    dla $k0, __tianshan_fw_trap",
            "    jr $k0",
            ".section .text.vector.cache_error, \"ax\", @progbits",
            "    dla $k0, __tianshan_fw_trap",
            "    jr $k0",
            ".section .text.vector.general, \"ax\", @progbits",
            "    dla $k0, __tianshan_fw_trap",
            "    jr $k0",
            ".section .text.trap, \"ax\", @progbits",
            "__tianshan_fw_trap:",
            $crate::__trap_common_asm!(),
            main = sym $main,
            handler = sym $trap,
            pm = const $pm,
        );
    };
}

/// Expands to the kernel's entry point and its exception vector page
/// (`__kernel_vectors`, 4 KiB aligned, for EBase). `main: extern "C"
/// fn(u64, u64) -> !`; `trap: extern "C" fn(&mut TrapFrame)`.
#[macro_export]
macro_rules! kernel_entry {
    (main = $main:path, trap = $trap:path $(,)?) => {
        core::arch::global_asm!(
            ".section .text.entry, \"ax\", @progbits",
            ".globl _kernel_entry",
            "_kernel_entry:",
            "    dla $gp, _gp",
            "    dla $sp, __boot_stack_top",
            "    move $s0, $a0",
            "    move $s1, $a1",
            "    dla $t1, __bss_start",
            "    dla $t2, __bss_end",
            "1:  beq $t1, $t2, 2f",
            "    sd $zero, 0($t1)",
            "    daddiu $t1, $t1, 8",
            "    b 1b",
            "2:  move $a0, $s0",
            "    move $a1, $s1",
            "    dla $t9, {main}",
            "    jalr $t9",
            "3:  wait",
            "    b 3b",
            // The note that tells Tianshan firmware this is a Tianshan
            // kernel (docs/boot-protocol.md): name "Tianshan", type 1,
            // descriptor = boot protocol version 1.
            ".section .note.tianshan, \"a\", @note",
            ".balign 4",
            ".long 9",
            ".long 4",
            ".long 1",
            ".asciz \"Tianshan\"",
            ".balign 4",
            ".long 1",
            // EBase page: TLB refill +0x000, XTLB refill +0x080, cache error
            // +0x100, general exception +0x180 (MIPS64 PRA, BEV = 0).
            ".section .text.vectors, \"ax\", @progbits",
            ".balign 4096",
            ".globl __kernel_vectors",
            "__kernel_vectors:",
            "    j __tianshan_kernel_trap",
            ".org 0x080",
            "    j __tianshan_kernel_trap",
            ".org 0x100",
            "    j __tianshan_kernel_trap",
            ".org 0x180",
            "    j __tianshan_kernel_trap",
            ".section .text.trap, \"ax\", @progbits",
            "__tianshan_kernel_trap:",
            $crate::__trap_common_asm!(),
            main = sym $main,
            handler = sym $trap,
        );
    };
}
