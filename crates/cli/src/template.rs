//! `holdfast template …`

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use holdfast_core::guard::SensitiveRule;
use holdfast_core::health::TemplateRules;
use holdfast_core::{Holdfast, TemplateDraft, TemplatePatch};

use super::output;

/// Template subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Add a template.
    Add {
        /// Unique name (1–64 characters, no '/', '\' or control characters).
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// List templates.
    List {
        /// Print a JSON array (stable format, see README).
        #[arg(long)]
        json: bool,
    },
    /// Show one template.
    Show {
        name: String,
        /// Print a JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Change fields of a template; only the flags given are changed.
    Edit {
        name: String,
        /// New name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        #[command(flatten)]
        fields: Fields,
        /// Remove all start URLs.
        #[arg(long, conflicts_with = "start_urls")]
        clear_start_urls: bool,
        /// Remove all tags.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
        /// Remove the pinned egress IP.
        #[arg(long, conflicts_with = "pin")]
        clear_pin: bool,
        /// Set the timezone and locale to fit where the exit is now (asked through the exit):
        /// its timezone, and its country's main language with the country as region.
        #[arg(long, conflicts_with = "exit")]
        match_exit: bool,
        /// Write only if the template is still at this version (its `version` in `show --json`):
        /// else nothing is written and the edit fails with edit_conflict.
        #[arg(long, value_name = "N")]
        base_version: Option<i64>,
    },
    /// Pin the egress IP of a template: the given IP, or the one seen through its exit now.
    Pin {
        name: String,
        /// The IP to pin; without it, `check` runs and its IP is pinned.
        ip: Option<String>,
    },
    /// Remove a template and its keyring entry; its browser profile is kept unless --purge.
    Rm {
        name: String,
        /// Also delete the browser profile (cookies, storage) of the template.
        #[arg(long)]
        purge: bool,
    },
}

/// Fields shared by `add` and `edit`.
#[derive(Debug, Args)]
pub struct Fields {
    /// Exit: `direct`, `http://[user[:pass]@]host:port` or `socks5://[user[:pass]@]host:port`.
    #[arg(long, value_name = "URL")]
    exit: Option<String>,
    /// Read the exit password from the first line of stdin (keeps it out of shell history).
    #[arg(long)]
    exit_password_stdin: bool,
    /// IANA time zone, e.g. Europe/Berlin (default UTC).
    #[arg(long, value_name = "TZ")]
    timezone: Option<String>,
    /// BCP 47 language tag, e.g. de-DE (default en-US).
    #[arg(long, value_name = "TAG")]
    locale: Option<String>,
    /// A URL opened at launch (http/https); repeat for several.
    #[arg(long = "start-url", value_name = "URL")]
    start_urls: Vec<String>,
    /// A tag; repeat for several.
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// Account label (e.g. the login it holds).
    #[arg(long, value_name = "LABEL")]
    account: Option<String>,
    /// Free-form notes.
    #[arg(long, value_name = "TEXT")]
    notes: Option<String>,
    /// Pinned egress IP of the exit.
    #[arg(long, value_name = "IP")]
    pin: Option<String>,
    /// Health rule: a token refresh URL pattern (`*` matches anything); repeat for several.
    /// Given patterns replace that list; lists not given keep theirs (defaults for a new one).
    #[arg(long = "refresh-url", value_name = "PATTERN")]
    refresh_urls: Vec<String>,
    /// Health rule: a login page URL pattern; repeat for several.
    #[arg(long = "login-url", value_name = "PATTERN")]
    login_urls: Vec<String>,
    /// Health rule: a second-verification URL pattern (challenge, 2FA, captcha); repeat.
    #[arg(long = "verification-url", value_name = "PATTERN")]
    verification_urls: Vec<String>,
    /// Guard rule: a sensitive action held in a risk window, as `ACTION METHODS URL`
    /// (e.g. `payment POST,PUT */checkout*`); repeat for several. Replaces the list.
    #[arg(long = "sensitive", value_name = "RULE")]
    sensitive: Vec<String>,
    /// No sensitive-action rules: the guard never holds this template's requests.
    #[arg(long, conflicts_with = "sensitive")]
    no_sensitive: bool,
    /// Open a DevTools TCP port at every launch for automation tools (`on`/`off`; default off).
    /// Any local process that finds the port can drive the browser.
    #[arg(long, value_name = "on|off", value_parser = clap::builder::BoolishValueParser::new())]
    automation: Option<bool>,
    /// Refuse launches (unless --force) while the timezone or locale does not fit where the
    /// exit is, or while that is unknown (`on`/`off`; default off: only warn).
    #[arg(long, value_name = "on|off", value_parser = clap::builder::BoolishValueParser::new())]
    require_consistent: Option<bool>,
}

impl Fields {
    /// Whether any health rule list was given on the command line.
    fn gives_rules(&self) -> bool {
        !(self.refresh_urls.is_empty()
            && self.login_urls.is_empty()
            && self.verification_urls.is_empty()
            && self.sensitive.is_empty()
            && !self.no_sensitive)
    }

    /// `base` with the lists given on the command line replaced.
    fn rules(&self, base: TemplateRules) -> holdfast_core::Result<TemplateRules> {
        let pick = |given: &Vec<String>, old: Vec<String>| {
            if given.is_empty() {
                old
            } else {
                given.clone()
            }
        };
        let sensitive = if self.no_sensitive {
            Vec::new()
        } else if self.sensitive.is_empty() {
            base.sensitive
        } else {
            self.sensitive
                .iter()
                .map(|l| SensitiveRule::parse(l))
                .collect::<holdfast_core::Result<_>>()?
        };
        Ok(TemplateRules {
            refresh: pick(&self.refresh_urls, base.refresh),
            login: pick(&self.login_urls, base.login),
            verification: pick(&self.verification_urls, base.verification),
            sensitive,
        })
    }

    /// Warns when the exit URL carries its password: a command line is readable by every user
    /// of the machine (`ps`, /proc) while the command runs.
    fn warn_inline_password(&self) {
        let Some(exit) = &self.exit else { return };
        if holdfast_core::template::exit::redact(exit) != *exit {
            eprintln!(
                "warning: the exit password was given on the command line, where other users of \
                 this machine can read it (ps, /proc) while the command runs; give the URL \
                 without it and use --exit-password-stdin"
            );
        }
    }

    /// Says what turning automation on means, once, when it is turned on.
    fn warn_automation(&self) {
        if self.automation == Some(true) {
            eprintln!(
                "note: automation is on: each launch of this template opens a DevTools port on \
                 127.0.0.1, and any process on this machine that finds it can drive the browser \
                 (read its cookies, act in the account)"
            );
        }
    }

    fn password(&self) -> Result<Option<String>> {
        if !self.exit_password_stdin {
            return Ok(None);
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the exit password from stdin")?;
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
    }
}

fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

/// Runs one template subcommand.
pub async fn run(hf: &Holdfast, cmd: TemplateCommand) -> Result<()> {
    match cmd {
        TemplateCommand::Add { name, fields } => {
            fields.warn_inline_password();
            fields.warn_automation();
            let draft = TemplateDraft {
                name,
                rules: if fields.gives_rules() {
                    Some(fields.rules(TemplateRules::default())?)
                } else {
                    None
                },
                exit_password: fields.password()?,
                exit: fields.exit.unwrap_or_else(|| "direct".into()),
                account: fields.account,
                pinned_egress_ip: fields.pin,
                timezone: fields.timezone,
                locale: fields.locale,
                start_urls: non_empty(fields.start_urls),
                tags: non_empty(fields.tags),
                notes: fields.notes,
                automation: fields.automation,
                require_consistent: fields.require_consistent,
            };
            let t = hf.templates().add(draft).await?;
            println!("added template {:?} ({})", t.name, t.id);
        }
        TemplateCommand::List { json } => {
            if json {
                // Streamed a page at a time, in the JSON form the store already built.
                let mut array = output::JsonArray::stdout();
                hf.templates()
                    .each_json_page(|page| Ok::<_, anyhow::Error>(array.extend(page)?))
                    .await?;
                array.finish()?;
            } else {
                output::table(&hf.templates().list().await?)?;
            }
        }
        TemplateCommand::Show { name, json } => {
            let t = hf.templates().get(&name).await?;
            if json {
                output::json(&t)?;
            } else {
                output::detail(&t)?;
            }
        }
        TemplateCommand::Edit {
            name,
            rename,
            fields,
            clear_start_urls,
            clear_tags,
            clear_pin,
            match_exit,
            base_version,
        } => {
            fields.warn_inline_password();
            fields.warn_automation();
            // Asked first, through the exit; a timezone or locale given beside it wins.
            let fit = if match_exit {
                let fit = hf.exits().fit(&name).await?;
                println!(
                    "the exit is in {} ({}, per {}): timezone {} -> {}, locale {} -> {}",
                    fit.country,
                    fit.timezone,
                    fit.source,
                    fit.current_timezone,
                    fields.timezone.as_deref().unwrap_or(&fit.timezone),
                    fit.current_locale,
                    fields.locale.as_deref().unwrap_or(&fit.locale),
                );
                Some(fit)
            } else {
                None
            };
            let rules = if fields.gives_rules() {
                Some(fields.rules(hf.templates().get(&name).await?.rules)?)
            } else {
                None
            };
            let patch = TemplatePatch {
                rules,
                name: rename,
                exit_password: fields.password()?,
                exit: fields.exit,
                account: fields.account,
                pinned_egress_ip: if clear_pin {
                    Some(String::new())
                } else {
                    fields.pin
                },
                timezone: fields
                    .timezone
                    .or_else(|| fit.as_ref().map(|f| f.timezone.clone())),
                locale: fields
                    .locale
                    .or_else(|| fit.as_ref().map(|f| f.locale.clone())),
                start_urls: if clear_start_urls {
                    Some(Vec::new())
                } else {
                    non_empty(fields.start_urls)
                },
                tags: if clear_tags {
                    Some(Vec::new())
                } else {
                    non_empty(fields.tags)
                },
                notes: fields.notes,
                automation: fields.automation,
                require_consistent: fields.require_consistent,
                base_version,
            };
            let t = hf.templates().edit(&name, patch).await?;
            println!("updated template {:?}", t.name);
        }
        TemplateCommand::Pin { name, ip } => super::exit::pin(hf, &name, ip.as_deref()).await?,
        TemplateCommand::Rm { name, purge } => {
            let r = hf.templates().remove(&name, purge).await?;
            println!("removed template {:?}", r.template.name);
            if r.profile_kept {
                println!(
                    "browser profile kept at {} (delete it with --purge)",
                    r.profile_dir.display()
                );
            } else if purge {
                println!("browser profile deleted");
            }
        }
    }
    Ok(())
}
