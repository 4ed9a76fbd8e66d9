//! Printing: JSON (stable, documented in README) and human tables.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use holdfast_core::Template;

/// Writes `value` as JSON plus a newline (one object, e.g. `template show --json`).
pub fn json<T: Serialize>(value: &T) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer(&mut out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes a JSON array element by element, so a long list streams to stdout.
pub struct JsonArray<W: Write> {
    out: W,
    first: bool,
}

impl JsonArray<BufWriter<io::StdoutLock<'static>>> {
    /// An array on buffered stdout.
    pub fn stdout() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
            first: true,
        }
    }
}

impl<W: Write> JsonArray<W> {
    /// Appends the elements of `page`, a non-empty JSON array as text.
    pub fn extend(&mut self, page: &str) -> io::Result<()> {
        let inner = page
            .strip_prefix('[')
            .and_then(|p| p.strip_suffix(']'))
            .ok_or_else(|| io::Error::other("a page is not a JSON array"))?;
        self.out.write_all(if self.first { b"[" } else { b"," })?;
        self.first = false;
        self.out.write_all(inner.as_bytes())
    }

    /// Closes the array (`[]` if no page was added) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        let end: &[u8] = if self.first { b"[]\n" } else { b"]\n" };
        self.out.write_all(end)?;
        self.out.flush()
    }
}

/// A compact table of templates.
pub fn table(list: &[Template]) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    if list.is_empty() {
        writeln!(
            out,
            "no templates yet: add one with `holdfast template add NAME --exit URL`"
        )?;
        return out.flush();
    }
    let width = |f: &dyn Fn(&Template) -> usize, title: &str| {
        list.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let wn = width(&|t| t.name.chars().count(), "NAME");
    let wa = width(&|t| t.account.chars().count(), "ACCOUNT");
    let we = width(&|t| t.exit.to_string().len(), "EXIT");
    let wt = width(&|t| t.timezone.len(), "TIMEZONE");
    writeln!(
        out,
        "{:wn$}  {:wa$}  {:we$}  {:wt$}  LOCALE  TAGS",
        "NAME", "ACCOUNT", "EXIT", "TIMEZONE"
    )?;
    for t in list {
        writeln!(
            out,
            "{:wn$}  {:wa$}  {:we$}  {:wt$}  {:6}  {}",
            t.name,
            t.account,
            t.exit.to_string(),
            t.timezone,
            t.locale,
            t.tags.join(",")
        )?;
    }
    out.flush()
}

/// All fields of one template, one per line.
pub fn detail(t: &Template) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let none = "-";
    writeln!(out, "name:        {}", t.name)?;
    writeln!(out, "id:          {}", t.id)?;
    writeln!(
        out,
        "account:     {}",
        if t.account.is_empty() {
            none
        } else {
            &t.account
        }
    )?;
    let pw = if t.exit_has_password {
        " (password in keyring)"
    } else {
        ""
    };
    writeln!(out, "exit:        {}{pw}", t.exit)?;
    writeln!(
        out,
        "pinned IP:   {}",
        t.pinned_egress_ip.as_deref().unwrap_or(none)
    )?;
    writeln!(out, "timezone:    {}", t.timezone)?;
    writeln!(out, "locale:      {}", t.locale)?;
    writeln!(
        out,
        "fit to exit: {}",
        if t.require_consistent {
            "required (launches refuse when timezone or locale does not fit the exit)"
        } else {
            "checked (launches warn)"
        }
    )?;
    writeln!(
        out,
        "automation:  {}",
        if t.automation {
            "on (each launch opens a DevTools port on 127.0.0.1)"
        } else {
            "off"
        }
    )?;
    writeln!(
        out,
        "start URLs:  {}",
        if t.start_urls.is_empty() {
            none.to_owned()
        } else {
            t.start_urls.join(" ")
        }
    )?;
    writeln!(
        out,
        "tags:        {}",
        if t.tags.is_empty() {
            none.to_owned()
        } else {
            t.tags.join(", ")
        }
    )?;
    writeln!(out, "created:     {}", t.created_at.to_rfc3339())?;
    writeln!(out, "updated:     {}", t.updated_at.to_rfc3339())?;
    let list = |v: &[String]| {
        if v.is_empty() {
            none.to_owned()
        } else {
            v.join(" ")
        }
    };
    writeln!(out, "refresh:     {}", list(&t.rules.refresh))?;
    writeln!(out, "login:       {}", list(&t.rules.login))?;
    writeln!(out, "verify:      {}", list(&t.rules.verification))?;
    if t.rules.sensitive.is_empty() {
        writeln!(out, "sensitive:   - (nothing is held)")?;
    } else {
        writeln!(out, "sensitive:")?;
        for r in &t.rules.sensitive {
            writeln!(out, "  {}", r.to_line())?;
        }
    }
    if !t.notes.is_empty() {
        writeln!(out, "notes:\n{}", t.notes)?;
    }
    out.flush()
}
