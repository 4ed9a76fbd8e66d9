//! Printing: JSON (stable, documented in README) and human tables.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use serde::Serialize;

use holdfast::Template;

/// Writes `value` as JSON plus a newline, buffered (10,000 templates are one write burst).
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// A compact table of templates.
pub fn table(list: &[Template]) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    if list.is_empty() {
        writeln!(
            out,
            "no templates yet: add one with `holdfast template add NAME --exit URL`"
        )?;
        return Ok(out.flush()?);
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
    Ok(out.flush()?)
}

/// All fields of one template, one per line.
pub fn detail(t: &Template) -> Result<()> {
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
    if !t.notes.is_empty() {
        writeln!(out, "notes:\n{}", t.notes)?;
    }
    Ok(out.flush()?)
}
