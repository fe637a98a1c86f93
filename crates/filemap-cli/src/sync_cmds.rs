//! The synchronization objects: `create --type mutex|semaphore|event|timer`, `signal`, `reset`
//! and `wait`.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use filemap::sync::{DueTime, MAXIMUM_WAIT_OBJECTS, SyncState, Waitable, query_state, wait_all, wait_any};
use filemap::{
    Created, Event, Handle, Mutex, ObjectName, ObjectType, Rights, Semaphore, Timer, WaitOutcome, Win32Error,
};

use crate::commands::{CreateArgs, CreateReport, Kind, hold, parse_name, print_json_line, usage};
use crate::state_view::StateView;
use crate::units;

/// `filemap create --type mutex|semaphore|event|timer`.
pub fn create(name: &ObjectName, args: CreateArgs) -> Result<()> {
    let (object, created) = make(name, &args)?;
    if created == Created::Existing && !args.open_existing {
        return Err(filemap::Error::new(
            Win32Error::ALREADY_EXISTS,
            format!(
                "cannot create \"{name}\": a {} of that name already exists ({}); pass --open-existing to use it",
                args.kind.as_str(),
                object.state()
            ),
        )
        .into());
    }
    let what = if created == Created::New { "created" } else { "opened existing" };
    if !args.json {
        println!("{what} {} \"{name}\" ({})", args.kind.as_str(), object.state());
    }
    let mut report = CreateReport {
        name: name.to_string(),
        kind: args.kind.as_str(),
        created: created == Created::New,
        size: None,
        file: None,
        state: Some(StateView::new(&object.state())),
        holder_pid: None,
        view_bytes: None,
        handle_closed: false,
    };
    if !args.hold {
        if created == Created::New {
            eprintln!(
                "note: \"{name}\" is released as this command exits (no other process holds a handle); \
                 use --hold to keep it"
            );
        }
        if let (Sync::Mutex(m), true) = (&object, args.owned) {
            m.release()?; // leave it free rather than abandoned
        }
        return if args.json { print_json_line(&report) } else { Ok(()) };
    }
    report.holder_pid = Some(std::process::id());
    hold(name, args.json.then_some(&report), move || {
        if let (Sync::Mutex(m), true) = (&object, args.owned) {
            let _ = m.release();
        }
        drop(object);
    })
}

/// Creates (or opens) the synchronization object `--type` names, with its options.
fn make(name: &ObjectName, args: &CreateArgs) -> Result<(Sync, Created)> {
    let full = name.to_string();
    let perms = args.permissions()?;
    Ok(match args.kind {
        Kind::Mutex => {
            let (m, c) = Mutex::options()
                .name(&full)
                .initial_owner(args.owned)
                .mode(args.mode)
                .permissions_if(perms.clone())
                .create()?;
            (Sync::Mutex(m), c)
        }
        Kind::Semaphore => {
            let initial = args.initial.unwrap_or(0);
            let max = args.max.unwrap_or(1);
            if max < 1 || initial < 0 || initial > max {
                return Err(usage(format!(
                    "a semaphore needs 0 <= --initial <= --max and --max >= 1 (got initial {initial}, max {max})"
                )));
            }
            let (s, c) = Semaphore::options()
                .name(&full)
                .initial(initial)
                .max(max)
                .mode(args.mode)
                .permissions_if(perms.clone())
                .create()?;
            (Sync::Semaphore(s), c)
        }
        Kind::Event => {
            let (e, c) = Event::options()
                .name(&full)
                .manual_reset(args.manual_reset)
                .initial_state(args.signaled)
                .mode(args.mode)
                .permissions_if(perms.clone())
                .create()?;
            (Sync::Event(e), c)
        }
        Kind::Timer => {
            let (t, c) = Timer::options()
                .name(&full)
                .manual_reset(args.manual_reset)
                .mode(args.mode)
                .permissions_if(perms.clone())
                .create()?;
            if let Some(due) = args.due {
                t.set(DueTime::Relative(due), args.period)?;
            }
            (Sync::Timer(t), c)
        }
        Kind::Mapping => unreachable!("mappings are created by commands::create"),
    })
}

/// A handle to any of the synchronization object types.
enum Sync {
    Mutex(Mutex),
    Semaphore(Semaphore),
    Event(Event),
    Timer(Timer),
}

impl Sync {
    /// Opens `name` as whatever sync type it is. A mapping is `ERROR_INVALID_HANDLE` (exit 6).
    fn open(name: &ObjectName, verb: &str) -> Result<Sync> {
        let full = name.to_string();
        let (kind, _) = query_state(&full)?;
        Ok(match kind {
            ObjectType::Mutex => Sync::Mutex(Mutex::open(&full, Rights::MUTEX_ALL_ACCESS)?),
            ObjectType::Semaphore => Sync::Semaphore(Semaphore::open(&full, Rights::SEMAPHORE_ALL_ACCESS)?),
            ObjectType::Event => Sync::Event(Event::open(&full, Rights::EVENT_ALL_ACCESS)?),
            ObjectType::Timer => Sync::Timer(Timer::open(&full, Rights::TIMER_ALL_ACCESS)?),
            other => {
                return Err(filemap::Error::new(
                    Win32Error::INVALID_HANDLE,
                    format!("cannot {verb} \"{name}\": it is a {other}, not a mutex, semaphore, event or timer"),
                )
                .into());
            }
        })
    }

    fn state(&self) -> SyncState {
        match self {
            Sync::Mutex(m) => m.state(),
            Sync::Semaphore(s) => s.state(),
            Sync::Event(e) => e.state(),
            Sync::Timer(t) => t.state(),
        }
    }

    fn waitable(&self) -> &dyn Waitable {
        match self {
            Sync::Mutex(m) => m,
            Sync::Semaphore(s) => s,
            Sync::Event(e) => e,
            Sync::Timer(t) => t,
        }
    }

    /// The handle as the core's one handle trait sees it (type, name, identity, access).
    fn handle(&self) -> &dyn Handle {
        match self {
            Sync::Mutex(m) => m,
            Sync::Semaphore(s) => s,
            Sync::Event(e) => e,
            Sync::Timer(t) => t,
        }
    }

    fn kind(&self) -> &'static str {
        self.handle().object_type().as_str()
    }
}

/// Arguments of `filemap signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// Name of the event, semaphore, timer or mutex.
    pub name: String,
    /// Semaphore: how many units to release.
    #[arg(long, default_value = "1")]
    pub count: i32,
    /// Event: pulse instead of set (wake the current waiters, leave it unsignaled).
    #[arg(long)]
    pub pulse: bool,
    /// Timer: become signaled after this long (default: now).
    #[arg(long, value_parser = units::parse_duration)]
    pub due: Option<Duration>,
    /// Timer: then signal again every PERIOD.
    #[arg(long, value_parser = units::parse_duration)]
    pub period: Option<Duration>,
    /// Print one JSON object (`name`, `type`, `action`, `before`, `state`) instead of words.
    #[arg(long)]
    pub json: bool,
}

/// What `signal --json` and `reset --json` print.
#[derive(Debug, serde::Serialize)]
pub struct SignalReport {
    /// The full name.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `set`, `pulse`, `release` (semaphore, mutex), `arm` (timer), `reset`, `cancel` (timer).
    pub action: &'static str,
    /// Before the call: events: whether it was signaled; semaphores: the count (`null` for
    /// timers and mutexes).
    pub before: Option<serde_json::Value>,
    /// The state after the call.
    pub state: StateView,
}

/// `filemap signal`.
pub fn signal(args: SignalArgs) -> Result<()> {
    let name = parse_name(&args.name)?;
    let object = Sync::open(&name, "signal")?;
    let misplaced = [
        (args.count != 1, matches!(object, Sync::Semaphore(_)), "--count"),
        (args.pulse, matches!(object, Sync::Event(_)), "--pulse"),
        (args.due.is_some(), matches!(object, Sync::Timer(_)), "--due"),
        (args.period.is_some(), matches!(object, Sync::Timer(_)), "--period"),
    ];
    if let Some((_, _, flag)) = misplaced.iter().find(|(given, applies, _)| *given && !applies) {
        return Err(usage(format!("{flag} does not apply to a {} (\"{name}\")", object.kind())));
    }
    let (action, before): (&'static str, Option<serde_json::Value>) = match &object {
        Sync::Event(e) if args.pulse => {
            e.pulse()?;
            if !args.json {
                println!("pulsed event \"{name}\": its waiters of this moment were released; now {}", e.state());
            }
            ("pulse", None)
        }
        Sync::Event(e) => {
            let was = e.set()?;
            if !args.json {
                let was = if was { "signaled" } else { "unsignaled" };
                println!("set event \"{name}\" (was {was}; now {})", e.state());
            }
            ("set", Some(was.into()))
        }
        Sync::Semaphore(s) => {
            let before = s.release(args.count)?;
            if !args.json {
                println!(
                    "released semaphore \"{name}\" by {}: count {before} -> {} (maximum {})",
                    args.count,
                    before + args.count,
                    s.max()
                );
            }
            ("release", Some(before.into()))
        }
        Sync::Timer(t) => {
            let due = args.due.unwrap_or(Duration::ZERO);
            t.set(DueTime::Relative(due), args.period)?;
            if !args.json {
                let period = args.period.map_or(String::new(), |p| format!(", then every {p:?}"));
                println!("set timer \"{name}\": due in {due:?}{period}");
            }
            ("arm", None)
        }
        Sync::Mutex(m) => {
            m.release()?;
            if !args.json {
                println!("released mutex \"{name}\"");
            }
            ("release", None)
        }
    };
    if args.json {
        let state = StateView::new(&object.state());
        print_json_line(&SignalReport { name: name.to_string(), kind: object.kind(), action, before, state })?;
    }
    Ok(())
}

/// Arguments of `filemap reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Name of the event or timer.
    pub name: String,
    /// Print one JSON object (as `signal --json`: `action` is `reset` or `cancel`).
    #[arg(long)]
    pub json: bool,
}

/// `filemap reset`.
pub fn reset(args: ResetArgs) -> Result<()> {
    let name = parse_name(&args.name)?;
    let object = Sync::open(&name, "reset")?;
    let (action, before): (&'static str, Option<serde_json::Value>) = match &object {
        Sync::Event(e) => {
            let was = e.reset()?;
            if !args.json {
                println!("reset event \"{name}\" (was {})", if was { "signaled" } else { "unsignaled" });
            }
            ("reset", Some(was.into()))
        }
        Sync::Timer(t) => {
            t.cancel()?;
            if !args.json {
                println!("canceled timer \"{name}\" ({})", t.state());
            }
            ("cancel", None)
        }
        other => {
            return Err(filemap::Error::new(
                Win32Error::INVALID_HANDLE,
                format!(
                    "cannot reset \"{name}\": it is a {}; only events (ResetEvent) and timers (CancelWaitableTimer) reset",
                    other.kind()
                ),
            )
            .into());
        }
    };
    if args.json {
        let state = StateView::new(&object.state());
        print_json_line(&SignalReport { name: name.to_string(), kind: object.kind(), action, before, state })?;
    }
    Ok(())
}

/// Arguments of `filemap wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Names of the events, semaphores, timers or mutexes (up to 64). With several, waits until
    /// any one is signaled (WaitForMultipleObjects), or with --all until all are at once.
    #[arg(required = true, num_args = 1.., value_name = "NAME")]
    pub names: Vec<String>,
    /// With several names: wait until all of them are signaled at the same time.
    #[arg(long)]
    pub all: bool,
    /// Give up after this long (500ms, 2s, 1m; a bare number is milliseconds) with exit code 7.
    /// Default: wait forever.
    #[arg(long, short = 't', value_parser = units::parse_duration)]
    pub timeout: Option<Duration>,
    /// After the wait, keep the handles (and any mutex acquired) until Ctrl-C.
    #[arg(long)]
    pub hold: bool,
    /// Print one JSON object (`result`, `index`, `objects`, `taken`) instead of words; printed
    /// on a timeout too (then exit 7).
    #[arg(long)]
    pub json: bool,
}

/// What `wait --json` prints.
#[derive(Debug, serde::Serialize)]
pub struct WaitReport {
    /// `signaled`, `abandoned` (a mutex whose owner died holding it) or `timeout`.
    pub result: &'static str,
    /// Which object ended the wait (`WAIT_OBJECT_0 + index`), `null` on a timeout.
    pub index: Option<usize>,
    /// `--all` was given.
    pub all: bool,
    /// The objects waited on, in order: `{"name", "type"}`.
    pub objects: Vec<WaitObject>,
    /// Indices of the objects the wait took (consumed or acquired): one, or all with `--all`.
    pub taken: Vec<usize>,
    /// The process holding what was taken (`--hold`), else `null`.
    pub holder_pid: Option<u32>,
}

/// One object of a `wait`.
#[derive(Debug, serde::Serialize)]
pub struct WaitObject {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `filemap wait`.
pub fn wait(args: WaitArgs) -> Result<()> {
    if args.names.len() > MAXIMUM_WAIT_OBJECTS {
        return Err(usage(format!("at most {MAXIMUM_WAIT_OBJECTS} objects can be waited on at once")));
    }
    let names = args.names.iter().map(|n| parse_name(n)).collect::<Result<Vec<_>>>()?;
    let objects = names.iter().map(|n| Sync::open(n, "wait on")).collect::<Result<Vec<_>>>()?;
    let refs: Vec<&dyn Waitable> = objects.iter().map(Sync::waitable).collect();
    let outcome = if args.all { wait_all(&refs, args.timeout)? } else { wait_any(&refs, args.timeout)? };
    let describe = |i: usize| format!("{} \"{}\"", objects[i].kind(), names[i]);
    let mut report = WaitReport::new(outcome, args.all, &objects, &names);
    // Which objects the wait took: one for a wait on any, all of them for a wait on all.
    let taken: Vec<usize> = match outcome {
        WaitOutcome::TimedOut => {
            if args.json {
                print_json_line(&report)?;
            }
            let waited = args.timeout.unwrap_or_default();
            let what = match names.len() {
                1 => format!("{} was not signaled", describe(0)),
                n if args.all => format!("the {n} objects were not all signaled at once"),
                n => format!("none of the {n} objects was signaled"),
            };
            return Err(
                filemap::Error::new(Win32Error::TIMEOUT, format!("{what} within {waited:?} (WAIT_TIMEOUT)")).into()
            );
        }
        WaitOutcome::Signaled(i) | WaitOutcome::Abandoned(i) => {
            if args.all {
                (0..objects.len()).collect()
            } else {
                vec![i]
            }
        }
    };
    report.taken = taken.clone();
    if args.all && objects.len() > 1 && !args.json {
        println!("all {} objects were signaled at once (WAIT_OBJECT_0)", objects.len());
    }
    if !args.json {
        for &i in &taken {
            println!("{}", taken_line(&objects[i], &describe(i), i, outcome, args.all && objects.len() > 1));
        }
    }
    let label = names[0].clone();
    let json = args.json;
    let release = move || {
        for &i in &taken {
            if let Sync::Mutex(m) = &objects[i]
                && m.release().is_ok()
                && !json
            {
                println!("released {} \"{}\"", objects[i].kind(), names[i]);
            }
        }
        drop(objects);
    };
    if args.hold {
        report.holder_pid = Some(std::process::id());
        return hold(&label, args.json.then_some(&report), release);
    }
    release();
    if args.json {
        print_json_line(&report)?;
    }
    Ok(())
}

/// What `wait` says of object `i` (described as `what`) that the wait took.
fn taken_line(object: &Sync, what: &str, i: usize, outcome: WaitOutcome, several: bool) -> String {
    match (object, outcome) {
        (Sync::Mutex(_), WaitOutcome::Abandoned(a)) if a == i => {
            format!("acquired {what} (WAIT_ABANDONED: its previous owner died holding it)")
        }
        (Sync::Mutex(_), _) => format!("acquired {what}"),
        _ if several => format!("{what} was signaled"),
        _ => format!("{what} is signaled (WAIT_OBJECT_0 + {i})"),
    }
}

impl WaitReport {
    /// The report of a wait on `objects` (named `names`) that ended with `outcome`; what it
    /// took and who holds it are filled in later.
    fn new(outcome: WaitOutcome, all: bool, objects: &[Sync], names: &[ObjectName]) -> WaitReport {
        WaitReport {
            result: match outcome {
                WaitOutcome::TimedOut => "timeout",
                WaitOutcome::Signaled(_) => "signaled",
                WaitOutcome::Abandoned(_) => "abandoned",
            },
            index: match outcome {
                WaitOutcome::TimedOut => None,
                WaitOutcome::Signaled(i) | WaitOutcome::Abandoned(i) => Some(i),
            },
            all,
            objects: objects
                .iter()
                .zip(names)
                .map(|(o, n)| WaitObject { name: n.to_string(), kind: o.kind() })
                .collect(),
            taken: Vec::new(),
            holder_pid: None,
        }
    }
}
