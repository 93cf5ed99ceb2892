//! The scheduler: kernel tasks with fixed priorities, round-robin time
//! slices within a priority, sleeping, blocking on wait queues, exit and
//! join.
//!
//! * 64 priorities, higher runs first; picking the next task is constant
//!   time (`tianshan_kcore::ready`). The idle task (priority 0) always
//!   exists, so there is always something to run.
//! * A running task is preempted when its slice (`SLICE_TICKS`) runs out
//!   and another task of its priority is ready, or at once when a task of a
//!   higher priority becomes ready, whether it was woken by another task or
//!   by an interrupt (then the switch happens as the trap returns).
//! * Every task has its own stack from the frame allocator. Its lowest
//!   `CANARY_BYTES` hold a known pattern, checked each time the task is
//!   switched away from: a task found to have overflowed is stopped with a
//!   message and never runs again; the kernel goes on. The rest of the stack
//!   is filled with `STACK_FILL` so `ps` can report the high-water mark.
//! * All scheduler state, wait queues included, is under one `IrqLock`.
//!   `switch_context` runs after that lock is released but with interrupts
//!   still off; each task's Status (and so its interrupt state) is part of
//!   its saved context.

use crate::cpu::{addr, context::Context, cp0};
use crate::irqlock::{IrqGuard, IrqLock};
use crate::mm::{self, MemoryError};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::Ordering::Relaxed;
use tianshan_drivers::console::EmergencyWriter;
use tianshan_kcore::frames::FRAME_SIZE;
use tianshan_kcore::ready::{PRIORITIES, ReadyQueues, TaskId};
use tianshan_kcore::timerq::TimerQueue;

/// Most tasks alive at once (including exited ones not yet joined).
pub const MAX_TASKS: usize = 256;
/// Priority of the idle task.
pub const IDLE_PRIORITY: usize = 0;
/// Highest priority.
pub const MAX_PRIORITY: usize = PRIORITIES - 1;
/// Ticks a task runs before yielding to an equal-priority task.
pub const SLICE_TICKS: u32 = 10;
/// Default stack size of a spawned task.
pub const DEFAULT_STACK: usize = 16 * 1024;
/// Bytes at the bottom of every stack that hold the canary pattern.
pub const CANARY_BYTES: usize = 1024;
const CANARY: u64 = 0x5453_4341_4E41_5259; // "TSCANARY"
/// Canary words checked on each switch (the highest ones in the zone).
const CANARY_CHECK_WORDS: usize = 4;
/// Fill byte of unused stack, for the high-water mark.
const STACK_FILL: u8 = 0x5A;
/// Longest task name kept.
const NAME_LEN: usize = 16;

/// A task's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting in a ready queue.
    Ready,
    /// On the CPU.
    Running,
    /// In the timer queue.
    Sleeping,
    /// On a wait queue (maybe with a timeout).
    Blocked,
    /// Finished with an exit code; waiting to be joined.
    Exited(i32),
    /// Stopped by the kernel (stack overflow).
    Faulted,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Running => "running",
            State::Sleeping => "sleeping",
            State::Blocked => "blocked",
            State::Exited(_) => "exited",
            State::Faulted => "faulted",
        }
    }
}

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeReason {
    /// Woken by `wake_one`/`wake_all` (or the sleep ended).
    Woken,
    /// The timeout expired first.
    Timeout,
}

/// Why `spawn` or `join` failed.
#[derive(Clone, Copy, Debug)]
pub enum TaskError {
    /// No memory for the stack or task record.
    Memory(MemoryError),
    /// `MAX_TASKS` tasks exist.
    TooManyTasks,
    /// Priority out of range.
    BadPriority(usize),
    /// No such task, or it was already joined.
    NoSuchTask(TaskId),
    /// Joining yourself.
    JoinSelf,
    /// Another task is already joining this one.
    AlreadyJoined {
        /// The task to join.
        id: TaskId,
        /// The task already waiting for it.
        by: TaskId,
    },
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Memory(e) => write!(f, "{e}"),
            TaskError::TooManyTasks => write!(f, "too many tasks (at most {MAX_TASKS})"),
            TaskError::BadPriority(p) => write!(f, "priority {p} out of range (0..={MAX_PRIORITY})"),
            TaskError::NoSuchTask(id) => write!(f, "no task {id} to join"),
            TaskError::JoinSelf => write!(f, "a task cannot join itself"),
            TaskError::AlreadyJoined { id, by } => write!(f, "task {id} is already being joined by task {by}"),
        }
    }
}

/// How a joined task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It returned or called `exit` with this code.
    Code(i32),
    /// The kernel stopped it (stack overflow).
    Faulted,
}

struct Task {
    /// This task's index in `Scheduler::tasks`.
    id: TaskId,
    name: [u8; NAME_LEN],
    name_len: usize,
    prio: usize,
    state: State,
    ctx: Context,
    /// Stack: physical base and size in bytes (0 = the boot stack).
    stack_pa: u64,
    stack_base: u64,
    stack_size: usize,
    cpu_counts: u64,
    switched_in: u64,
    slice_left: u32,
    wake: WakeReason,
    /// A timeout for the current wait is in the timer queue.
    has_timer: bool,
    /// Where a waker may deliver a value directly (channel receivers).
    slot: *mut u8,
    /// The wait queue the task is blocked on, for timeouts.
    blocked_on: *const WaitQueue,
    /// The next task on the same wait queue (null at its tail).
    wait_next: *mut Task,
    /// The task waiting in `join` for this one to end.
    joiner: Option<TaskId>,
    /// The task this one waits for in `join`.
    joining: Option<TaskId>,
    entry: Option<Box<dyn FnOnce() -> i32 + Send>>,
}

// SAFETY: `blocked_on` and `wait_next` are only dereferenced under the
// scheduler lock, while the task is blocked on that queue (which outlives
// the wait) and the next task is on it too (so it is alive).
unsafe impl Send for Task {}

impl Task {
    /// A record in `state` with no stack yet (the boot task keeps none)
    /// and no id yet (`spawn` gives it one).
    fn new(name: &str, prio: usize, state: State, entry: Option<Box<dyn FnOnce() -> i32 + Send>>) -> Self {
        let mut t = Task {
            id: 0,
            name: [0; NAME_LEN],
            name_len: 0,
            prio,
            state,
            ctx: Context::default(),
            stack_pa: 0,
            stack_base: 0,
            stack_size: 0,
            cpu_counts: 0,
            switched_in: 0,
            slice_left: SLICE_TICKS,
            wake: WakeReason::Woken,
            has_timer: false,
            slot: core::ptr::null_mut(),
            blocked_on: core::ptr::null(),
            wait_next: core::ptr::null_mut(),
            joiner: None,
            joining: None,
            entry,
        };
        t.name_len = set_name(&mut t.name, name);
        t
    }

    fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("?")
    }

    /// The stack did not overflow: the stack pointer `sp` (the task's
    /// own, while it runs) is above the canary zone, and the top words of
    /// the zone are untouched.
    fn stack_intact(&self, sp: u64) -> bool {
        if self.stack_base == 0 {
            return true;
        }
        if sp < self.stack_base + CANARY_BYTES as u64 {
            return false;
        }
        // SAFETY: the bottom CANARY_BYTES of the stack belong to this task
        // and stay mapped while the task exists.
        let words = unsafe { core::slice::from_raw_parts(self.stack_base as *const u64, CANARY_BYTES / 8) };
        // A stack grows down into the zone from its top, so the top words
        // are overwritten first; checking those keeps every switch cheap.
        words[words.len() - CANARY_CHECK_WORDS..].iter().all(|&w| w == CANARY)
    }

    fn high_water(&self) -> usize {
        if self.stack_base == 0 {
            return 0;
        }
        // SAFETY: the stack is this task's and stays mapped while it exists.
        let bytes = unsafe { core::slice::from_raw_parts(self.stack_base as *const u8, self.stack_size) };
        let untouched = bytes[CANARY_BYTES..].iter().take_while(|&&b| b == STACK_FILL).count();
        self.stack_size - CANARY_BYTES - untouched
    }
}

struct Scheduler {
    tasks: Vec<Option<Box<Task>>>,
    ready: ReadyQueues<'static>,
    timers: TimerQueue<MAX_TASKS>,
    current: TaskId,
    /// The record of task `current` (the box in `tasks`), so the hot paths
    /// reach it without a table lookup. See `Scheduler::running`.
    running: *mut Task,
    /// The running task's priority (a copy, so waking needs no lookup).
    current_prio: usize,
    ticks: u64,
    dead_stacks: Vec<(u64, usize)>,
    switches: u64,
}

static SCHED: IrqLock<Option<Scheduler>> = IrqLock::new(None);
/// Mirror of `Scheduler::need_resched`, readable without the lock.
static NEED_RESCHED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn set_name(buf: &mut [u8; NAME_LEN], name: &str) -> usize {
    let n = name.len().min(NAME_LEN);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    n
}

/// Makes the running code task 0 (`name`, on the boot stack) and starts
/// the idle task. Needs the heap.
pub fn init(name: &str, prio: usize) -> Result<(), TaskError> {
    let links: &'static mut [u32] = alloc::vec![0u32; MAX_TASKS].leak();
    let mut boot = Box::new(Task::new(name, prio, State::Running, None));
    boot.switched_in = u64::from(cp0::count());
    let running: *mut Task = &mut *boot;
    let mut tasks = Vec::with_capacity(MAX_TASKS);
    tasks.push(Some(boot));
    *SCHED.lock() = Some(Scheduler {
        tasks,
        ready: ReadyQueues::new(links),
        timers: TimerQueue::new(),
        current: 0,
        running,
        current_prio: prio,
        ticks: 0,
        dead_stacks: Vec::new(),
        switches: 0,
    });
    spawn("idle", IDLE_PRIORITY, DEFAULT_STACK, || {
        loop {
            crate::cpu::wait_for_interrupt();
        }
    })?;
    Ok(())
}

/// Renames the running task.
pub fn rename_current(name: &str) {
    with(|s| {
        let t = s.running();
        t.name_len = set_name(&mut t.name, name);
    });
}

fn with<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    let mut g = SCHED.lock();
    f(g.as_mut().expect("scheduler initialised"))
}

extern "C" fn task_main(id: u64) -> ! {
    let entry = with(|s| s.tasks[id as usize].as_mut().and_then(|t| t.entry.take()));
    cp0::enable_interrupts();
    let code = entry.map_or(0, |f| f());
    exit(code)
}

/// Starts `f` as a new task. Returns its id, for `join`.
pub fn spawn(
    name: &str,
    prio: usize,
    stack_size: usize,
    f: impl FnOnce() -> i32 + Send + 'static,
) -> Result<TaskId, TaskError> {
    if prio > MAX_PRIORITY {
        return Err(TaskError::BadPriority(prio));
    }
    let stack_size = stack_size.max(2 * CANARY_BYTES).next_multiple_of(FRAME_SIZE as usize);
    let frames = (stack_size as u64) / FRAME_SIZE;
    // The task record and its entry closure first: they are the only
    // allocations that can fail after the stack is taken.
    let entry: Box<dyn FnOnce() -> i32 + Send> = mm::try_box(f).map_err(TaskError::Memory)?;
    let mut task = mm::try_box(Task::new(name, prio, State::Ready, Some(entry))).map_err(TaskError::Memory)?;
    let stack_pa = mm::alloc_frames(frames).map_err(TaskError::Memory)?;
    let stack_base = addr::cached(stack_pa);
    task.stack_pa = stack_pa;
    task.stack_base = stack_base;
    task.stack_size = stack_size;
    // SAFETY: the frames were just allocated for this stack.
    let stack = unsafe { core::slice::from_raw_parts_mut(stack_base as *mut u8, stack_size) };
    stack[CANARY_BYTES..].fill(STACK_FILL);
    for w in stack[..CANARY_BYTES].chunks_exact_mut(8) {
        w.copy_from_slice(&CANARY.to_ne_bytes());
    }
    // New tasks start with interrupts off; `task_main` turns them on.
    let status = u64::from((cp0::status() - cp0::Status::IE - cp0::Status::EXL).bits());
    let mut g = SCHED.lock();
    let s = g.as_mut().expect("scheduler initialised");
    let id = match s.tasks.iter().position(Option::is_none) {
        Some(free) => free,
        // `init` reserved room for MAX_TASKS records: no allocation here.
        None if s.tasks.len() < MAX_TASKS => {
            s.tasks.push(None);
            s.tasks.len() - 1
        }
        None => {
            drop(g);
            let _ = mm::free_frames(stack_pa, frames);
            return Err(TaskError::TooManyTasks);
        }
    };
    task.ctx = Context::new_task(
        task_main,
        id as u64,
        stack_base + stack_size as u64,
        status,
        crate::cpu::context::current_gp(),
    );
    task.id = id as TaskId;
    s.tasks[id] = Some(task);
    make_ready(s, id as TaskId);
    let preempt = NEED_RESCHED.load(Relaxed);
    drop(g);
    if preempt {
        preempt_point();
    }
    Ok(id as TaskId)
}

impl Scheduler {
    /// Task `id`'s record, if it exists.
    fn task(&mut self, id: TaskId) -> Option<&mut Task> {
        record(&mut self.tasks, id)
    }

    /// The running task's record.
    fn running(&mut self) -> &mut Task {
        // SAFETY: `running` points into the box of task `current` (set
        // with it in `init` and `switch_away`). That box is freed only by
        // `join`, after the task exited, and an exited task is never
        // current again. Borrowing `self` mutably makes this the only path
        // to the record for the borrow's length.
        unsafe { &mut *self.running }
    }
}

/// Task `id`'s record in `tasks`, if it exists. A free function over the
/// table, so callers can hold a record and other scheduler fields at once.
fn record(tasks: &mut [Option<Box<Task>>], id: TaskId) -> Option<&mut Task> {
    tasks.get_mut(id as usize).and_then(|t| t.as_deref_mut())
}

// SAFETY: `running` and the wait-queue pointers in task records refer to
// boxed records owned by `tasks`; the scheduler is only reached through
// `SCHED`'s lock.
unsafe impl Send for Scheduler {}

/// Puts `t`, which is neither running nor queued, on its ready queue, and
/// asks for a switch if it outranks the running task. Takes the fields it
/// needs rather than the scheduler, so callers may hold `t` (a record the
/// scheduler owns) at the same time.
#[inline]
fn enqueue(ready: &mut ReadyQueues<'static>, current_prio: usize, t: &mut Task) {
    t.state = State::Ready;
    t.blocked_on = core::ptr::null();
    ready.push(t.id, t.prio);
    if t.prio > current_prio {
        NEED_RESCHED.store(true, Relaxed);
    }
}

/// `enqueue` for task `id`, if it exists.
fn make_ready(s: &mut Scheduler, id: TaskId) {
    let current_prio = s.current_prio;
    if let Some(t) = record(&mut s.tasks, id) {
        enqueue(&mut s.ready, current_prio, t);
    }
}

/// Stops the running task `t`, whose stack canary is gone: it never runs
/// again, and whoever waits to join it is woken.
#[cold]
fn stop_overflowed(s: &mut Scheduler, t: &mut Task) {
    let _ = core::fmt::write(
        &mut EmergencyWriter,
        format_args!(
            "\n*** task {} '{}' overflowed its {}-byte stack (canary at {:#x} overwritten): task stopped\n",
            t.id,
            t.name(),
            t.stack_size,
            t.stack_base
        ),
    );
    // It may have been on its way to sleep or to block: take it off the
    // timer queue and the wait queue, so no one wakes a stopped task.
    s.timers.cancel(t.id);
    t.has_timer = false;
    if let Some(wq) = core::ptr::NonNull::new(t.blocked_on.cast_mut()) {
        // SAFETY: the task was blocking on this queue under the scheduler
        // lock, which is still held, so the queue is alive.
        unsafe { wq.as_ref().remove(s, t) };
    }
    t.blocked_on = core::ptr::null();
    t.state = State::Faulted;
    // It may have been waiting to join a task: that task must not wake it.
    if let Some(target) = t.joining.take()
        && let Some(other) = s.task(target)
        && other.joiner == Some(t.id)
    {
        other.joiner = None;
    }
    let joiner = t.joiner.take();
    wake_joiner(s, joiner, t.id);
}

/// Wakes `joiner`, the task waiting in `join` for task `ended`, if it is
/// still waiting for it.
fn wake_joiner(s: &mut Scheduler, joiner: Option<TaskId>, ended: TaskId) {
    let current_prio = s.current_prio;
    if let Some(j) = joiner.and_then(|j| record(&mut s.tasks, j))
        && j.state == State::Blocked
        && j.joining == Some(ended)
    {
        j.joining = None;
        enqueue(&mut s.ready, current_prio, j);
    }
}

/// Picks the next task and switches to it. `requeue`: the current task
/// stays runnable. Returns when the current task runs again.
fn switch_away(mut g: IrqGuard<'_, Option<Scheduler>>, requeue: bool) {
    let s = g.as_mut().expect("scheduler initialised");
    NEED_RESCHED.store(false, Relaxed);
    // Stacks of tasks that exited before the last switch are not in use.
    while let Some((pa, size)) = s.dead_stacks.pop() {
        let _ = mm::free_frames(pa, (size as u64) / FRAME_SIZE);
    }
    let now = u64::from(cp0::count());
    // SAFETY: as in `Scheduler::running`; the record is a heap allocation
    // apart from `*s`, and this function reaches it only through `cur`.
    let cur = unsafe { &mut *s.running };
    cur.cpu_counts += u64::from((now as u32).wrapping_sub(cur.switched_in as u32));
    if !cur.stack_intact(crate::cpu::context::current_sp()) {
        stop_overflowed(s, cur);
    } else if requeue && cur.state == State::Running {
        cur.state = State::Ready;
        s.ready.push(cur.id, cur.prio);
    }
    if matches!(cur.state, State::Exited(_)) && cur.stack_base != 0 {
        // Still in use until the switch below: freed by the next switch,
        // which runs on another task's stack.
        s.dead_stacks.push((cur.stack_pa, cur.stack_size));
        cur.stack_base = 0;
    }
    let Some((next_id, _)) = s.ready.pop() else {
        // Only possible before the idle task exists: keep running.
        if cur.state != State::Faulted {
            cur.state = State::Running;
        }
        return;
    };
    if next_id == cur.id {
        // It was requeued and is still the best choice.
        cur.state = State::Running;
        cur.slice_left = SLICE_TICKS;
        cur.switched_in = now;
        return;
    }
    let next: *mut Task = s.task(next_id).expect("a ready task exists");
    // SAFETY: a live record owned by `s.tasks`, another than `cur`'s; the
    // box does not move, and nothing else refers to it during the switch.
    let next = unsafe { &mut *next };
    next.state = State::Running;
    next.slice_left = SLICE_TICKS;
    next.switched_in = now;
    s.current_prio = next.prio;
    s.current = next_id;
    s.running = next;
    s.switches += 1;
    let from: *mut Context = &mut cur.ctx;
    let to: *const Context = &next.ctx;
    let was_enabled = g.unlock_keep_irqs_off();
    // SAFETY: interrupts are off; `to` is a context saved by an earlier
    // switch or built by `spawn`, in a boxed task that is not freed while it
    // can run; `from` lives in the current task's box, which stays alive
    // until the task is joined, which cannot happen before it runs again or
    // exits (and an exited task never resumes).
    unsafe { crate::cpu::context::switch_context(from, to) };
    cp0::irq_restore(was_enabled);
}

/// Gives the CPU to another ready task of equal or higher priority.
pub fn yield_now() {
    switch_away(SCHED.lock(), true);
}

/// Switches if a higher-priority task became ready (task context only).
/// The check is inlined into every caller; the switch is not.
#[inline]
pub fn preempt_point() {
    if NEED_RESCHED.load(Relaxed) {
        preempt_now();
    }
}

#[cold]
#[inline(never)]
fn preempt_now() {
    let g = SCHED.lock();
    if g.is_some() && NEED_RESCHED.load(Relaxed) {
        switch_away(g, true);
    }
}

/// Called as a trap returns: switches if the interrupt made that
/// necessary. (The same check as `preempt_point`; the trap frame stays on
/// the interrupted task's stack until it runs again.)
pub fn preempt_from_trap() {
    preempt_point();
}

/// Sleeps at least `ticks` whole ticks.
pub fn sleep_ticks(ticks: u64) {
    let mut g = SCHED.lock();
    let s = g.as_mut().expect("scheduler initialised");
    // +1: the current tick is already partly over.
    let deadline = s.ticks.saturating_add(ticks).saturating_add(1);
    let cur = s.current;
    if s.timers.insert(deadline, cur).is_err() {
        drop(g);
        yield_now();
        return;
    }
    s.running().state = State::Sleeping;
    switch_away(g, false);
}

/// Sleeps at least `ms` milliseconds (rounded up to whole ticks).
pub fn sleep_ms(ms: u64) {
    sleep_ticks(crate::time::ms_to_ticks(ms));
}

/// Ends the running task with `code`.
pub fn exit(code: i32) -> ! {
    let mut g = SCHED.lock();
    let s = g.as_mut().expect("scheduler initialised");
    let t = s.running();
    t.state = State::Exited(code);
    let (id, joiner) = (t.id, t.joiner.take());
    wake_joiner(s, joiner, id);
    // `switch_away` hands the stack over for freeing once it is left.
    switch_away(g, false);
    unreachable!("an exited task was resumed");
}

/// Waits for task `id` to end and returns how it ended.
pub fn join(id: TaskId) -> Result<ExitStatus, TaskError> {
    loop {
        let mut g = SCHED.lock();
        let s = g.as_mut().expect("scheduler initialised");
        if id == s.current {
            return Err(TaskError::JoinSelf);
        }
        let cur = s.current;
        let Some(t) = record(&mut s.tasks, id) else {
            return Err(TaskError::NoSuchTask(id));
        };
        match t.state {
            State::Exited(code) => {
                s.tasks[id as usize] = None;
                return Ok(ExitStatus::Code(code));
            }
            State::Faulted => {
                if t.stack_base != 0 {
                    s.dead_stacks.push((t.stack_pa, t.stack_size));
                }
                s.tasks[id as usize] = None;
                return Ok(ExitStatus::Faulted);
            }
            _ => {
                if let Some(by) = t.joiner.filter(|&j| j != cur) {
                    return Err(TaskError::AlreadyJoined { id, by });
                }
                t.joiner = Some(cur);
                let me = s.running();
                me.joining = Some(id);
                me.state = State::Blocked;
                switch_away(g, false);
            }
        }
    }
}

/// The running task's id.
pub fn current() -> TaskId {
    with(|s| s.current)
}

/// Context switches so far.
pub fn switches() -> u64 {
    with(|s| s.switches)
}

/// Timer-interrupt hook: wakes expired sleepers, charges the slice.
pub fn on_tick(ticks: u64) {
    let mut g = SCHED.lock();
    let Some(s) = g.as_mut() else { return };
    s.ticks = ticks;
    while let Some(timer) = s.timers.pop_expired(ticks) {
        let Some(t) = record(&mut s.tasks, timer.task) else { continue };
        match t.state {
            State::Sleeping => t.wake = WakeReason::Woken,
            State::Blocked => {
                t.wake = WakeReason::Timeout;
                t.has_timer = false;
                t.slot = core::ptr::null_mut();
                if let Some(wq) = core::ptr::NonNull::new(t.blocked_on.cast_mut()) {
                    let t: *mut Task = t;
                    // SAFETY: a blocked task's queue outlives the wait
                    // (`block_on` does not return before this).
                    unsafe { wq.as_ref().remove(s, t) };
                }
            }
            _ => continue,
        }
        make_ready(s, timer.task);
    }
    let now = u64::from(cp0::count());
    let top = s.ready.top_priority();
    let t = s.running();
    // Charge CPU time every tick, so 32-bit counter deltas never wrap.
    t.cpu_counts += u64::from((now as u32).wrapping_sub(t.switched_in as u32));
    t.switched_in = now;
    t.slice_left = t.slice_left.saturating_sub(1);
    if t.slice_left == 0 && top.is_some_and(|p| p >= t.prio) {
        NEED_RESCHED.store(true, Relaxed);
    }
}

/// A queue of tasks waiting for something. Wake order is FIFO.
///
/// The queue is intrusive: it links the waiting tasks' records through
/// their `wait_next` field, so waiting allocates nothing and waking takes
/// no table lookup. It is only touched with the scheduler lock held; `len`
/// mirrors its length so "is anyone waiting?" needs no lock.
pub struct WaitQueue {
    ends: core::cell::UnsafeCell<WaitEnds>,
    len: core::sync::atomic::AtomicUsize,
}

/// First and last waiter (both null when nobody waits).
struct WaitEnds {
    head: *mut Task,
    tail: *mut Task,
}

// SAFETY: `ends` is only accessed with the scheduler lock held (which
// also keeps interrupts off on this single core).
unsafe impl Sync for WaitQueue {}
// SAFETY: as above; the pointers are to records the scheduler owns.
unsafe impl Send for WaitQueue {}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue {
            ends: core::cell::UnsafeCell::new(WaitEnds { head: core::ptr::null_mut(), tail: core::ptr::null_mut() }),
            len: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The ends; the caller holds the scheduler lock (`_s` proves it).
    #[allow(clippy::mut_from_ref)]
    #[inline]
    fn ends(&self, _s: &mut Scheduler) -> &mut WaitEnds {
        // SAFETY: only reached with the scheduler lock held (the `&mut
        // Scheduler` borrow comes from its guard), so there is no other
        // access at the same time.
        unsafe { &mut *self.ends.get() }
    }

    // `len` is only written with the scheduler lock held, so plain loads
    // and stores suffice (no read-modify-write atomics).

    /// Appends `t`, a live task record that is on no wait queue.
    #[inline]
    fn push(&self, s: &mut Scheduler, t: *mut Task) {
        let ends = self.ends(s);
        // SAFETY: `t` is live (caller), and so is `tail`: every task on
        // the queue is alive until it is taken off (`pop`, `remove`).
        unsafe {
            (*t).wait_next = core::ptr::null_mut();
            match ends.tail.is_null() {
                true => ends.head = t,
                false => (*ends.tail).wait_next = t,
            }
        }
        ends.tail = t;
        self.len.store(self.len.load(Relaxed) + 1, Relaxed);
    }

    /// Takes the longest waiter off the queue.
    #[inline]
    fn pop(&self, s: &mut Scheduler) -> Option<*mut Task> {
        let ends = self.ends(s);
        let t = ends.head;
        if t.is_null() {
            return None;
        }
        // SAFETY: a task on the queue is alive (see `push`).
        ends.head = unsafe { (*t).wait_next };
        if ends.head.is_null() {
            ends.tail = core::ptr::null_mut();
        }
        self.len.store(self.len.load(Relaxed) - 1, Relaxed);
        Some(t)
    }

    /// Takes `t` off the queue if it is on it (linear in the queue's
    /// length: only timeouts and stopped tasks need it).
    fn remove(&self, s: &mut Scheduler, t: *mut Task) {
        let ends = self.ends(s);
        let mut prev: *mut Task = core::ptr::null_mut();
        let mut at = ends.head;
        // SAFETY: every record reached is on the queue, so alive (see
        // `push`).
        unsafe {
            while !at.is_null() {
                let next = (*at).wait_next;
                if at == t {
                    match prev.is_null() {
                        true => ends.head = next,
                        false => (*prev).wait_next = next,
                    }
                    if ends.tail == t {
                        ends.tail = prev;
                    }
                    (*t).wait_next = core::ptr::null_mut();
                    self.len.store(self.len.load(Relaxed) - 1, Relaxed);
                    return;
                }
                prev = at;
                at = next;
            }
        }
    }

    /// Blocks the running task until woken or until `timeout_ticks` pass.
    /// `ready` is tried first without the scheduler lock, then again under
    /// it: if it returns true the task does not block. Waking and blocking
    /// both happen with interrupts off on this single core, so a wake-up
    /// cannot fall between the check and the block.
    pub fn wait_until(&self, timeout_ticks: Option<u64>, ready: impl FnMut() -> bool) -> WakeReason {
        self.wait(|g| g.deadline(timeout_ticks), ready)
    }

    /// `wait_until` with a deadline (a tick count, as from
    /// `SchedGuard::deadline`) instead of a timeout, for callers that may
    /// wait several times within one time limit.
    pub fn wait_until_deadline(&self, deadline: Option<u64>, ready: impl FnMut() -> bool) -> WakeReason {
        self.wait(|_| deadline, ready)
    }

    fn wait(&self, deadline: impl FnOnce(&SchedGuard) -> Option<u64>, mut ready: impl FnMut() -> bool) -> WakeReason {
        if ready() {
            return WakeReason::Woken;
        }
        let g = lock();
        if ready() {
            return WakeReason::Woken;
        }
        let deadline = deadline(&g);
        g.block_on(self, deadline)
    }

    /// Wakes every waiter; returns how many.
    pub fn wake_all(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        // One critical section: a woken task cannot run (and wait here
        // again) before all of them are woken.
        let mut g = lock();
        let mut n = 0;
        while g.wake_one(self) {
            n += 1;
        }
        n
    }

    /// Wakes the longest waiter; true if there was one.
    pub fn wake_one(&self) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut g = lock();
        g.wake_one(self)
    }

    /// Number of waiting tasks.
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The scheduler lock, held: lets code that keeps its own state under the
/// scheduler lock (channels) check that state, wake and block in one
/// critical section. Dropping it checks for preemption.
pub struct SchedGuard {
    guard: Option<IrqGuard<'static, Option<Scheduler>>>,
}

/// Takes the scheduler lock.
#[inline]
pub fn lock() -> SchedGuard {
    SchedGuard { guard: Some(SCHED.lock()) }
}

impl SchedGuard {
    #[inline]
    fn s(&mut self) -> &mut Scheduler {
        self.guard.as_mut().and_then(|g| g.as_mut()).expect("scheduler initialised")
    }

    /// Current tick count.
    pub fn ticks(&self) -> u64 {
        self.guard.as_ref().and_then(|g| g.as_ref()).map_or(0, |s| s.ticks)
    }

    /// The tick by which a wait of `timeout` ticks from now ends (`None`:
    /// no limit). At least `timeout` whole ticks: the current one is
    /// already partly over. A timeout too large to count to means none.
    pub fn deadline(&self, timeout: Option<u64>) -> Option<u64> {
        timeout.and_then(|t| self.ticks().checked_add(t)?.checked_add(1))
    }

    /// Wakes the longest waiter of `wq`; true if there was one. The switch
    /// to it, if it outranks the caller, happens when the guard is dropped.
    pub fn wake_one(&mut self, wq: &WaitQueue) -> bool {
        self.wake_one_slot(wq).is_some()
    }

    /// Wakes the longest waiter of `wq` and returns the delivery slot it
    /// registered with `block_on_slot` (null if it gave none). The caller
    /// writes into the slot before dropping the guard.
    #[inline]
    pub fn wake_one_slot(&mut self, wq: &WaitQueue) -> Option<*mut u8> {
        if wq.is_empty() {
            return None;
        }
        let s = self.s();
        let t = wq.pop(s)?;
        // SAFETY: a task taken off a wait queue is alive and blocked (not
        // running), so nothing else refers to its record now.
        let t = unsafe { &mut *t };
        t.wake = WakeReason::Woken;
        let slot = core::mem::replace(&mut t.slot, core::ptr::null_mut());
        if core::mem::take(&mut t.has_timer) {
            s.timers.cancel(t.id);
        }
        enqueue(&mut s.ready, s.current_prio, t);
        Some(slot)
    }

    /// `block_on`, registering `slot` where a waker may deliver a value
    /// (see `wake_one_slot`). `slot` must stay valid until this returns.
    #[inline]
    pub fn block_on_slot(mut self, wq: &WaitQueue, deadline: Option<u64>, slot: *mut u8) -> WakeReason {
        self.s().running().slot = slot;
        // The waker (`wake_one_slot`) or the timeout (`on_tick`) clears it.
        self.block_on(wq, deadline)
    }

    /// Blocks the running task on `wq` until woken or until tick
    /// `deadline`, releasing the lock while it waits.
    pub fn block_on(mut self, wq: &WaitQueue, deadline: Option<u64>) -> WakeReason {
        let s = self.s();
        if let Some(d) = deadline
            && (d <= s.ticks || s.timers.insert(d, s.current).is_err())
        {
            s.running().slot = core::ptr::null_mut();
            return WakeReason::Timeout;
        }
        wq.push(s, s.running);
        let t = s.running();
        t.state = State::Blocked;
        t.wake = WakeReason::Woken;
        t.has_timer = deadline.is_some();
        t.blocked_on = wq;
        let wake: *const WakeReason = &t.wake;
        switch_away(self.guard.take().expect("guard held"), false);
        // SAFETY: the running task's record cannot be freed while it runs
        // (only `join` by another task frees it, after it exited), and the
        // waker wrote `wake` before making this task ready.
        unsafe { wake.read_volatile() }
    }
}

impl Drop for SchedGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(g) = self.guard.take() {
            drop(g);
            if !crate::irq::in_interrupt() {
                preempt_point();
            }
        }
    }
}

/// One line of `ps`.
#[derive(Clone, Copy, Debug)]
pub struct TaskInfo {
    /// Id.
    pub id: TaskId,
    /// Name (up to 16 bytes).
    pub name: [u8; NAME_LEN],
    name_len: usize,
    /// Priority.
    pub prio: usize,
    /// State.
    pub state: State,
    /// CPU time in counter units.
    pub cpu_counts: u64,
    /// Stack size and deepest use, in bytes (0 for the boot stack).
    pub stack_size: usize,
    /// Deepest stack use seen.
    pub stack_used: usize,
}

impl TaskInfo {
    /// The name.
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("?")
    }
    /// The state's name.
    pub fn state_name(&self) -> &'static str {
        self.state.name()
    }
}

/// A snapshot of every task, for `ps`.
pub fn tasks() -> Vec<TaskInfo> {
    let now = u64::from(cp0::count());
    with(|s| {
        let cur = s.current;
        s.tasks
            .iter()
            .enumerate()
            .filter_map(|(id, t)| t.as_ref().map(|t| (id, t)))
            .map(|(id, t)| TaskInfo {
                id: id as TaskId,
                name: t.name,
                name_len: t.name_len,
                prio: t.prio,
                state: t.state,
                cpu_counts: t.cpu_counts
                    + if id as TaskId == cur { u64::from((now as u32).wrapping_sub(t.switched_in as u32)) } else { 0 },
                stack_size: t.stack_size,
                stack_used: t.high_water(),
            })
            .collect()
    })
}

/// CPU time of task `id` in counter units so far.
pub fn cpu_counts(id: TaskId) -> Option<u64> {
    tasks().into_iter().find(|t| t.id == id).map(|t| t.cpu_counts)
}

/// Runs `f` with interrupts off.
pub fn without_interrupts(f: impl FnOnce()) {
    let was = cp0::irq_save();
    f();
    cp0::irq_restore(was);
}

/// "id 'name'" of the running task, for fault reports. Takes no lock that
/// a faulting task might hold: it reads with `try_lock`.
pub fn current_for_fault() -> FaultTask {
    FaultTask
}

/// Display of the running task for fault messages.
pub struct FaultTask;

impl fmt::Display for FaultTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(guard) = SCHED.try_lock_raw() else { return write!(f, "(scheduler lock held)") };
        match guard.as_ref() {
            Some(s) => match s.tasks[s.current as usize].as_ref() {
                Some(t) => write!(f, "{} '{}'", s.current, t.name()),
                None => write!(f, "{}", s.current),
            },
            None => write!(f, "(before the scheduler started)"),
        }
    }
}

/// Lowest address of the running task's stack (0 for the boot stack).
pub fn current_stack_base() -> u64 {
    with(|s| s.running().stack_base)
}

/// Changes the running task's priority; yields at once if a ready task now
/// outranks it.
pub fn set_current_priority(prio: usize) -> Result<(), TaskError> {
    if prio > MAX_PRIORITY {
        return Err(TaskError::BadPriority(prio));
    }
    let preempt = with(|s| {
        s.running().prio = prio;
        s.current_prio = prio;
        if s.ready.top_priority().is_some_and(|p| p > prio) {
            NEED_RESCHED.store(true, Relaxed);
        }
        NEED_RESCHED.load(Relaxed)
    });
    if preempt {
        preempt_point();
    }
    Ok(())
}

/// The running task's priority.
pub fn current_priority() -> usize {
    with(|s| s.current_prio)
}
