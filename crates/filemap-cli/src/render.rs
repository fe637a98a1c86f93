//! Printing reports for people: aligned tables, human sizes, colour only on a terminal.
//!
//! Everything shown here that did not come from this program (object names, file names and
//! paths, command lines, owner names, messages built from them) goes through [`escape`] first:
//! a name holding escape sequences must not retitle the terminal, recolour it, or forge rows
//! of `ls`. JSON output is not escaped (serde writes exact, valid JSON strings).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::inventory::{Holder, Object, Report, ViewUse};
use crate::units::{human_age, human_size};

/// ANSI styling (anstyle) that is a no-op unless anstream decides stdout takes colour: a
/// terminal whose `TERM` is not `dumb`, and neither `NO_COLOR` nor `CLICOLOR=0` set
/// (`CLICOLOR_FORCE` forces it on).
#[derive(Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colour if anstream would colour stdout.
    pub fn detect() -> Style {
        Style { on: anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never }
    }

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.on { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }
    pub fn yellow(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Yellow.on_default(), text)
    }
    pub fn red(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Red.on_default(), text)
    }
    pub fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), text)
    }
}

/// `text` with every character that could act on a terminal or break a line written as a
/// visible escape: C0 and C1 control characters and DEL (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{9b}`, ...), line and paragraph separators, and the bidirectional-text controls that
/// can reorder what is displayed (U+061C, U+200E/F, U+202A-E, U+2066-9). Backslashes are left
/// alone (they are part of every `Local\` name), so the escaped form is for reading, not for
/// parsing: scripts use `--json`.
pub fn escape(text: &str) -> Cow<'_, str> {
    fn needs(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for paths (shown lossily when not UTF-8).
fn escape_path(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

fn program(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or(command)
}

/// At most this many processes per cell of the table; `info` and `--json` list them all.
const MAX_IN_CELL: usize = 3;

/// Joins the first few items and says how many more there are.
fn join_some(items: Vec<String>) -> String {
    if items.is_empty() {
        return "-".into();
    }
    let more = items.len().saturating_sub(MAX_IN_CELL);
    let mut text = items.into_iter().take(MAX_IN_CELL).collect::<Vec<_>>().join(", ");
    if more > 0 {
        text.push_str(&format!(" +{more} more"));
    }
    text
}

fn holders_short(holders: &[Holder], handle_locks: usize) -> String {
    let mut shown: Vec<String> = holders
        .iter()
        .filter(|h| h.locks > 0)
        .map(|h| {
            let count = if h.handles > 1 { format!(" \u{d7}{}", h.handles) } else { String::new() };
            if h.alive {
                format!("{} {}{count}", h.pid, escape(program(&h.command)))
            } else {
                format!("{} (exited)", h.pid)
            }
        })
        .collect();
    let seen: usize = holders.iter().map(|h| h.locks).sum();
    if handle_locks > seen {
        shown.push(format!("{} unreadable", handle_locks - seen));
    }
    join_some(shown)
}

fn views_short(views: &[ViewUse]) -> String {
    join_some(
        views.iter().map(|v| format!("{} {} ({})", v.pid, escape(program(&v.command)), human_size(v.bytes))).collect(),
    )
}

fn status(o: &Object) -> &'static str {
    if o.error.is_some() {
        "corrupt"
    } else if o.stale {
        "stale"
    } else {
        "live"
    }
}

/// The `ls` table; `filtered`: a PATTERN or `--pid` chose the objects.
pub fn table(report: &Report, style: Style, filtered: bool) -> String {
    let mut out = String::new();
    if report.objects.is_empty() {
        out.push_str(if filtered { "no named objects match\n" } else { "no named objects\n" });
    } else {
        object_rows(&mut out, &report.objects, style);
    }
    if !report.released_memory.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Memory kept alive only by views (the name was released):"));
        for r in &report.released_memory {
            let name = r.name.as_deref().map_or_else(|| "(name unknown)".to_owned(), |n| escape(n).into_owned());
            let size = r.size.map_or(String::new(), |s| format!(", object size {}", human_size(s)));
            let _ = writeln!(
                out,
                "  {name} (inode {}{size}): {} mapped by {}",
                r.inode,
                human_size(r.bytes_mapped),
                views_short(&r.processes)
            );
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{}", style.yellow(&format!("warning: {}", escape(w))));
    }
    // Only when it changes the answer: some object has handles whose holders we could not see.
    let hidden: usize = report.objects.iter().map(|o| o.uninspected_handles).sum();
    if hidden > 0 {
        let advice = if rustix::process::geteuid().is_root() { "" } else { "; run as root to see them" };
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "note: {hidden} handle(s) are held by processes this user may not inspect: they are counted \
                 (HANDLES, from the kernel's lock table), their pids and views are not shown{advice}"
            ))
        );
    }
    out
}

/// The table of `objects` (not empty): a header, one aligned row each (the status painted), and
/// a line about stale objects if any.
fn object_rows(out: &mut String, objects: &[Object], style: Style) {
    let header =
        ["SCOPE", "NAME", "TYPE", "SIZE", "STATE", "STATUS", "OWNER", "MODE", "CREATED", "HANDLES", "HOLDERS", "VIEWS"];
    let rows: Vec<[String; 12]> = objects.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], paint: &dyn Fn(usize, &str) -> String| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            let pad = if last { 0 } else { widths[i] - cell.chars().count() + 2 };
            s.push_str(&paint(i, cell));
            s.push_str(&" ".repeat(pad));
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(&header.map(String::from), &|_, c| style.bold(c)));
    for (row, o) in rows.iter().zip(objects) {
        let st = status(o);
        out.push_str(&line(row, &|i, c| match (i, st) {
            (5, "stale") => style.yellow(c),
            (5, "corrupt") => style.red(c),
            _ => c.to_owned(),
        }));
    }
    let stale = objects.iter().filter(|o| o.stale).count();
    if stale > 0 {
        let _ = writeln!(
            out,
            "{}",
            style
                .yellow(&format!("{stale} stale object(s): no live process holds a handle; `filemap gc` removes them"))
        );
    }
}

/// One object's cells, in the header's order, escaped.
fn row(o: &Object) -> [String; 12] {
    [
        o.scope.to_owned(),
        o.name.as_deref().map_or_else(|| format!("? ({})", escape_path(&o.file)), |n| escape(n).into_owned()),
        o.kind.unwrap_or("?").to_owned(),
        o.size.map_or("-".into(), human_size),
        o.state.as_ref().map_or("-".into(), |s| escape(&s.summary).into_owned()),
        status(o).to_owned(),
        escape(&o.owner).into_owned(),
        o.mode.clone(),
        o.created.as_deref().map_or("-".into(), |c| created_short(c, o.age_seconds)),
        o.handle_locks.to_string(),
        holders_short(&o.holders, o.handle_locks),
        views_short(&o.views),
    ]
}

/// The CREATED cell: the time of day (UTC) for objects made in the last day, else the date.
fn created_short(rfc3339: &str, age_seconds: Option<u64>) -> String {
    // `2026-12-01T19:12:05Z`: the date before the `T`, the time after it.
    match (rfc3339.split_once('T'), age_seconds) {
        (Some((_, time)), Some(age)) if age < 24 * 3600 => time.to_owned(),
        (Some((date, _)), _) => date.to_owned(),
        (None, _) => rfc3339.to_owned(),
    }
}

/// The `info` page for one object.
pub fn details(o: &Object, style: Style) -> String {
    let mut f = Fields { out: String::new(), style };
    identity(&mut f, o);
    ownership(&mut f, o);
    handles(&mut f, o);
    views(&mut f, o);
    f.out
}

/// `info`'s lines: a bold key padded to a column, then the value.
struct Fields {
    out: String,
    style: Style,
}

impl Fields {
    fn field(&mut self, key: &str, value: String) {
        let _ = writeln!(self.out, "{} {value}", self.style.bold(&format!("{key:<12}")));
    }
}

/// Name, type, scope, file, and a mapping's size, protection and backing.
fn identity(f: &mut Fields, o: &Object) {
    f.field("Name:", o.name.as_deref().map_or_else(|| "?".into(), |n| escape(n).into_owned()));
    f.field("Type:", o.kind.unwrap_or("? (unreadable header)").to_owned());
    f.field("Scope:", o.scope.to_owned());
    f.field(
        "File:",
        format!(
            "{} (device {}, inode {}, {} on disk)",
            escape_path(&o.file),
            o.device,
            o.inode,
            human_size(o.file_size)
        ),
    );
    if let Some(size) = o.size {
        f.field("Size:", format!("{size} bytes ({})", human_size(size)));
    }
    if let Some(p) = &o.protection {
        f.field("Protection:", format!("{p} {}", o.attributes.join("|")));
    }
    if o.kind == Some("mapping") {
        match &o.backing {
            None => f.field("Backing:", "paging file (memory in the namespace's tmpfs)".into()),
            Some(b) => {
                let now = if !b.exists {
                    "the path no longer exists".to_owned()
                } else if !b.same_file {
                    "the path now names another file".to_owned()
                } else {
                    format!("still there, {}", b.current_size.map_or("?".into(), human_size))
                };
                f.field(
                    "Backing:",
                    format!("{} (device {}, inode {}; {now})", escape_path(&b.path), b.device, b.inode),
                );
            }
        }
    }
}

/// A sync object's state, the owner and who may do what, creation, and whether it is live.
fn ownership(f: &mut Fields, o: &Object) {
    if let Some(state) = &o.state {
        f.field("State:", escape(&state.summary).into_owned());
    }
    f.field("Owner:", format!("{} (uid {}), mode {}", escape(&o.owner), o.owner_uid, o.mode));
    for (i, a) in o.access.iter().enumerate() {
        f.field(if i == 0 { "Access:" } else { "" }, format!("{}: {}", escape(&a.who), a.access));
    }
    if let (Some(pid), Some(age), Some(at)) = (o.creator_pid, o.age_seconds, &o.created) {
        f.field("Created:", format!("{at} ({} ago) by pid {pid}", human_age(age)));
    }
    let status = match (&o.error, o.stale) {
        (Some(e), _) => f.style.red(&format!("corrupt: {}", escape(e))),
        (None, true) => {
            f.style.yellow("stale: no live process holds a handle; the next sweep or `filemap gc` removes it")
        }
        (None, false) => "live".to_owned(),
    };
    f.field("Status:", status);
}

/// The handle count and the processes holding handles.
fn handles(f: &mut Fields, o: &Object) {
    f.field("Handles:", format!("{} (handle locks in the kernel's lock table, in every process)", o.handle_locks));
    let seen: usize = o.holders.iter().map(|h| h.locks).sum();
    if o.holders.is_empty() {
        f.field(
            "Holders:",
            if o.handle_locks > 0 {
                format!("{} handle lock(s), in processes we may not inspect", o.handle_locks)
            } else {
                "none".into()
            },
        );
    } else if o.handle_locks > seen {
        f.field("", format!("and {} handle lock(s) in processes we may not inspect", o.handle_locks - seen));
    }
    for (i, h) in o.holders.iter().enumerate() {
        let who = if h.alive {
            format!("pid {} {}", h.pid, escape(&h.command))
        } else {
            format!("pid {} (exited; its lock lives on in a process that inherited the descriptor)", h.pid)
        };
        f.field(
            if i == 0 { "Holders:" } else { "" },
            format!("{who}: {} handle(s), {} descriptor(s)", h.handles, h.descriptors),
        );
    }
}

/// The processes that map the object.
fn views(f: &mut Fields, o: &Object) {
    if o.views.is_empty() {
        f.field("Views:", "none".into());
    }
    for (i, v) in o.views.iter().enumerate() {
        f.field(
            if i == 0 { "Views:" } else { "" },
            format!(
                "pid {} {}: {} in {} region(s){}",
                v.pid,
                escape(&v.command),
                human_size(v.bytes),
                v.regions,
                if v.writable { ", writable" } else { ", read-only" }
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_in_table_cells() {
        assert_eq!(join_some(vec![]), "-");
        assert_eq!(join_some(vec!["a".into(), "b".into()]), "a, b");
        let many: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
        assert_eq!(join_some(many), "1, 2, 3 +2 more");
    }

    #[test]
    fn control_characters_and_bidi_controls_are_shown_as_escapes() {
        assert!(matches!(escape(r"Local\plain name"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("row\nLocal\\forged\tx\r"), "row\\nLocal\\forged\\tx\\r");
        assert_eq!(escape("\u{9b}31m \u{7f}"), "\\u{9b}31m \\x7f");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("caf\u{e9} \u{4e2d}"), "caf\u{e9} \u{4e2d}");
    }

    #[test]
    fn program_is_the_first_word_of_a_command() {
        assert_eq!(program("filemap create x --hold"), "filemap");
        assert_eq!(program(""), "");
    }
}
