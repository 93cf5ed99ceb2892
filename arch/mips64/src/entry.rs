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
//!   Status = BEV|KX|SX|UX, loads gp and sp from the linker script,
//!   unpacks the firmware's code and data from the LZ4-compressed main
//!   stage in ROM into RAM, zeroes .bss and calls `main()` in RAM (never
//!   returns). The BEV vectors stay in ROM and jump
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

/// The word xtask patches with the ROM offset at which the firmware image
/// (reset code and compressed main stage) ends; the payload directory
/// follows at the next 4 KiB. It sits in the reset section, in ROM, at a
/// link address xtask reads from the ELF symbol table.
#[doc(hidden)]
#[macro_export]
macro_rules! __rom_image_end_word_asm {
    () => {
        concat!(".balign 8\n", ".globl __tianshan_rom_image_end\n", "__tianshan_rom_image_end:\n", "    .dword 0\n",)
    };
}

/// Unpacks the firmware's main stage (code, read-only data and data) from
/// the ROM into RAM: an LZ4 block (lz4.org's block format: sequences of
/// token, literals, 2-byte offset, match) that xtask compressed from
/// `__reloc_start..__reloc_end` and stored at `__reloc_lma`.
///
/// Register contract: called with `bal` (returns through $31), runs with
/// no stack and clobbers $2-$15 only; on exit the RAM image is complete,
/// and up to 16 bytes past `__reloc_end`, which is `.bss`, hold scratch
/// that the `.bss` clearing after it erases.
///
/// Why not a crate: this runs from ROM before there is RAM to run Rust in,
/// and its speed is the firmware's boot time (about 15 000 sequences for
/// 250 KiB). So: `noreorder`, with the delay slots filled where a loop allows; literals go 16
/// bytes at once before any length test, longer runs 16 bytes a step, matches
/// 8 bytes a step, all with unaligned `ldl`/`ldr`, `sdl`/`sdr` pairs (MIPS64
/// "LDL/LDR", little-endian order). Every copy may write past its run; those
/// bytes lie at or after the output position, so the next run overwrites
/// them before anything reads them. A match nearer than 8 bytes (a short
/// repeated pattern) is copied byte by byte. The stream is trusted as far
/// as the ROM is: it stops when the output reaches `__reloc_end`.
///
/// $2 = condition, $3 = match length, $4 = source, $5 = output, $6 = output
/// end, $7 = token, $8 = literal length, $9 = 15 (the "more length bytes"
/// nibble), $10 = offset or copy source, $11/$12 = data, $13 = match source,
/// $14 = run end, $15 = 255 (the "more" length byte).
#[doc(hidden)]
#[macro_export]
macro_rules! __lz4_unpack_main_stage_asm {
    () => {
        concat!(
            ".set push\n",
            ".set noreorder\n",
            "    dla $4, __reloc_lma\n",
            "    dla $5, __reloc_start\n",
            "    dla $6, __reloc_end\n",
            "    li $9, 15\n",
            "    li $15, 255\n",
            // A sequence: its token.
            "20: lbu $7, 0($4)\n",
            "    daddiu $4, $4, 1\n",
            "    srl $8, $7, 4\n",
            "    beq $8, $9, 21f\n",
            "    andi $3, $7, 15\n",
            // Literals: 16 bytes at once; longer runs finish at 23.
            "22: ldr $11, 0($4)\n",
            "    ldl $11, 7($4)\n",
            "    ldr $12, 8($4)\n",
            "    ldl $12, 15($4)\n",
            "    sdr $11, 0($5)\n",
            "    sdl $11, 7($5)\n",
            "    sdr $12, 8($5)\n",
            "    sdl $12, 15($5)\n",
            "    sltiu $2, $8, 17\n",
            "    beqz $2, 23f\n",
            "    daddu $4, $4, $8\n",
            "    daddu $5, $5, $8\n",
            // The last sequence has literals only: stop at the output's end.
            "24: sltu $2, $5, $6\n",
            "    beqz $2, 1f\n",
            "    lbu $10, 0($4)\n",
            // The match: 2-byte offset, length (token nibble + 4).
            "    lbu $11, 1($4)\n",
            "    daddiu $4, $4, 2\n",
            "    dsll $11, $11, 8\n",
            "    or $10, $10, $11\n",
            "    beq $3, $9, 25f\n",
            "    dsubu $13, $5, $10\n",
            "26: daddu $14, $5, $3\n",
            "    daddiu $14, $14, 4\n",
            "    sltiu $2, $10, 8\n",
            "    bnez $2, 28f\n",
            "    ldr $11, 0($13)\n",
            "27: ldl $11, 7($13)\n",
            "    sdr $11, 0($5)\n",
            "    sdl $11, 7($5)\n",
            "    daddiu $13, $13, 8\n",
            "    daddiu $5, $5, 8\n",
            "    sltu $2, $5, $14\n",
            "    bnez $2, 27b\n",
            "    ldr $11, 0($13)\n",
            "    b 20b\n",
            "    move $5, $14\n",
            // A match nearer than 8 bytes, byte by byte.
            "28: lbu $11, 0($13)\n",
            "    daddiu $13, $13, 1\n",
            "    sb $11, 0($5)\n",
            "    daddiu $5, $5, 1\n",
            "    bne $5, $14, 28b\n",
            "    nop\n",
            "    b 20b\n",
            "    nop\n",
            // More literal-length bytes.
            "21: lbu $11, 0($4)\n",
            "    daddiu $4, $4, 1\n",
            "    beq $11, $15, 21b\n",
            "    daddu $8, $8, $11\n",
            "    b 22b\n",
            "    nop\n",
            // Literals past the first 16: $4 is already past the run.
            "23: dsubu $10, $4, $8\n",
            "    daddiu $10, $10, 16\n",
            "    daddu $14, $5, $8\n",
            "    daddiu $5, $5, 16\n",
            "29: ldr $11, 0($10)\n",
            "    ldl $11, 7($10)\n",
            "    ldr $12, 8($10)\n",
            "    ldl $12, 15($10)\n",
            "    sdr $11, 0($5)\n",
            "    sdl $11, 7($5)\n",
            "    sdr $12, 8($5)\n",
            "    sdl $12, 15($5)\n",
            "    daddiu $5, $5, 16\n",
            "    sltu $2, $5, $14\n",
            "    bnez $2, 29b\n",
            "    daddiu $10, $10, 16\n",
            "    b 24b\n",
            "    move $5, $14\n",
            // More match-length bytes.
            "25: lbu $11, 0($4)\n",
            "    daddiu $4, $4, 1\n",
            "    beq $11, $15, 25b\n",
            "    daddu $3, $3, $11\n",
            "    b 26b\n",
            "    nop\n",
            "1:  jr $31\n",
            "    nop\n",
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
            // The unpacker lives after the BEV vectors (the reset code
            // must end before the first one, at offset 0x200).
            "    bal __tianshan_unpack_main_stage",
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
            // `main` never returns. The unpacker and the image-end word
            // follow the BEV vectors.
            ".section .text.rom_unpack, \"ax\", @progbits",
            ".globl __tianshan_unpack_main_stage",
            "__tianshan_unpack_main_stage:",
            $crate::__lz4_unpack_main_stage_asm!(),
            $crate::__rom_image_end_word_asm!(),
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
