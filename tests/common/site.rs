//! A local test site for browser tests, on 127.0.0.1: it sets and reads cookies, serves pages
//! whose script reports what the browser sees (timezone, languages, WebRTC candidates), and
//! records every request so a test can wait for the one it expects.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One request the site saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub peer: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The value of cookie `name` the browser sent, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.header("cookie")?.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }
}

type Hits = Arc<(Mutex<Vec<Hit>>, Condvar)>;

/// Submissions the test asked `/settings` to make, in order (`form` or `fetch`).
type Submits = Arc<Mutex<Vec<String>>>;

/// The site.
pub struct Site {
    pub port: u16,
    hits: Hits,
    refresh_status: Arc<AtomicU16>,
    submits: Submits,
}

impl Site {
    pub fn start() -> Self {
        let hits: Hits = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let refresh_status = Arc::new(AtomicU16::new(200));
        let submits: Submits = Arc::default();
        let (h, r, s) = (hits.clone(), refresh_status.clone(), submits.clone());
        let port = super::http::serve(move |stream, peer| serve(stream, peer, &h, &r, &s));
        Self {
            port,
            hits,
            refresh_status,
            submits,
        }
    }

    /// Asks the `/settings` page to submit once more: `form` posts its password form (into an
    /// iframe, so the page stays), `fetch` posts to `/export` from script. The page reports each
    /// result to `/report/submit` (body: `N kind title-or-error`).
    pub fn request_submit(&self, kind: &str) -> usize {
        let mut s = self.submits.lock().expect("lock");
        s.push(kind.to_owned());
        s.len()
    }

    /// Waits for the page's report of submission `n`; returns its body.
    pub fn wait_submit_report(&self, n: usize, timeout: Duration) -> String {
        let prefix = format!("{n} ");
        self.wait_for(&format!("the report of submission {n}"), timeout, |h| {
            h.path == "/report/submit" && h.body.starts_with(&prefix)
        })
        .body
    }

    /// The status `/api/refresh` answers with from now on.
    pub fn set_refresh_status(&self, status: u16) {
        self.refresh_status.store(status, Ordering::SeqCst);
    }

    /// Requests to `path` so far.
    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.0.lock().expect("lock").clone()
    }

    /// Waits for a request matching `pred` (the browser makes it when it gets there).
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Hit) -> bool) -> Hit {
        self.wait_nth(what, timeout, 1, pred)
    }

    /// Waits for the `n`-th request matching `pred` (1-based).
    pub fn wait_nth(
        &self,
        what: &str,
        timeout: Duration,
        n: usize,
        pred: impl Fn(&Hit) -> bool,
    ) -> Hit {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.hits;
        let mut hits = lock.lock().expect("lock");
        loop {
            if let Some(h) = hits.iter().filter(|h| pred(h)).nth(n - 1) {
                return h.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; the site saw: {:?}",
                hits.iter().map(|h| &h.path).collect::<Vec<_>>()
            );
            hits = cv.wait_timeout(hits, left).expect("lock").0;
        }
    }
}

/// A hostile page: tries the local API on `?port=` as a page can — a CORS read, no-cors
/// reads and writes (no preflight), a guessed token — and reports what it got to
/// `/report/attack`, one line per try.
const ATTACK_API: &str = r#"<script>
const api = 'http://127.0.0.1:' + new URLSearchParams(location.search).get('port') + '/v1/templates';
const body = name => JSON.stringify({name, exit: 'direct'});
const tries = [
  () => fetch(api).then(r => r.text().then(t => 'cors-get ' + r.status + ' ' + t), e => 'cors-get blocked'),
  () => fetch(api, {mode: 'no-cors'}).then(r => r.text().then(t => 'nocors-get ' + r.type + ' ' + r.status + ' [' + t + ']'), e => 'nocors-get blocked'),
  () => fetch(api, {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: body('pwned-nocors')})
    .then(r => 'nocors-post ' + r.type + ' ' + r.status, e => 'nocors-post blocked'),
  () => fetch(api, {method: 'POST', headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer hf_guess'}, body: body('pwned-cors')})
    .then(r => 'cors-post ' + r.status, e => 'cors-post blocked'),
];
(async () => {
  const out = [];
  for (const t of tries) out.push(await t());
  fetch('/report/attack', {method: 'POST', body: out.join('\n')});
})();
</script>"#;

const REPORT_ENV: &str = r#"<script>
fetch('/report/env', {method: 'POST', body: JSON.stringify({
  tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
  offset: new Date().getTimezoneOffset(),
  language: navigator.language,
  languages: navigator.languages,
})});
</script>"#;

// Gathers ICE candidates against the STUN server given in the query and reports them all
// (and whether gathering finished) — with a timeout, since a blocked gatherer may never finish.
const REPORT_ICE: &str = r#"<script>
const stun = new URLSearchParams(location.search).get('stun');
const found = [];
let sent = false;
function send(state) {
  if (sent) return; sent = true;
  fetch('/report/ice', {method: 'POST', body: JSON.stringify({state, candidates: found})});
}
try {
  const pc = new RTCPeerConnection({iceServers: stun ? [{urls: 'stun:' + stun}] : []});
  pc.createDataChannel('probe');
  pc.onicecandidate = e => { if (e.candidate) found.push(e.candidate.candidate); else send('complete'); };
  pc.createOffer().then(o => pc.setLocalDescription(o)).catch(e => { found.push('error:' + e); send('error'); });
  setTimeout(() => send('timeout'), 4000);
} catch (e) { found.push('error:' + e); send('error'); }
</script>"#;

// A signed-in web app in miniature: every 150 ms it refreshes its token and fetches data;
// `?auth=1` also hits a 401 route, an account page that redirects to login, and a challenge;
// `?half=PORT` also fetches from a server that half-closes after every response; `?ws=1` opens
// a WebSocket and leaves it idle.
const APP: &str = r#"<script>
const q = new URLSearchParams(location.search);
let i = 0;
async function tick() {
  i++;
  try { await fetch('/api/refresh', {method: 'POST'}); } catch (e) {}
  try { await fetch('/api/data?i=' + i); } catch (e) {}
  if (q.get('half')) {
    try { await fetch('http://127.0.0.1:' + q.get('half') + '/ip?i=' + i, {mode: 'no-cors'}); } catch (e) {}
  }
  setTimeout(tick, 150);
}
if (q.get('ws')) { window.sock = new WebSocket('ws://' + location.host + '/ws'); }
if (q.get('bigws')) {
  // One huge frame: DevTools reports it to the observer as one huge message.
  window.big = new WebSocket('ws://' + location.host + '/ws-big?mb=' + q.get('bigws'));
  window.big.onmessage = (e) =>
    fetch('/report/bigws', {method: 'POST', body: String(e.data.length)}).catch(() => {});
}
tick();
if (q.get('auth')) {
  fetch('/api/private').catch(() => {});
  for (const src of ['/account', '/challenge']) {
    const f = document.createElement('iframe');
    f.src = src;
    document.documentElement.appendChild(f);
  }
}
</script>"#;

// An account settings page: submits its password form (into an iframe, so the page and its
// loop stay) or posts to /export from script when /api/submit says so, and reports each result.
const SETTINGS: &str = r#"<title>settings</title>
<form id=pw method=post action="/account/password" target=sink>
  <input name=new value=s3cret><input name=n id=n>
</form>
<iframe name=sink id=sink></iframe>
<script>
let done = 0, busy = false;
const report = body => fetch('/report/submit', {method: 'POST', body});
document.getElementById('sink').onload = () => {
  if (!done) return;
  let title = '?';
  try { title = document.getElementById('sink').contentDocument.title; } catch (e) { title = 'error:' + e; }
  report(done + ' form ' + title);
  busy = false;
};
async function poll() {
  if (!busy) {
    let next = '';
    // Only the site's own answer counts (the relay answers 502 while the exit is down).
    try { const r = await fetch('/api/submit?done=' + done); if (r.ok) next = await r.text(); } catch (e) {}
    if (next) {
      const [n, kind] = next.split(' ');
      done = Number(n);
      if (kind === 'form') {
        busy = true;
        document.getElementById('n').value = n;
        document.getElementById('pw').submit();
      } else if (kind === 'worker') {
        // The same POST from a dedicated worker (its own DevTools target).
        const r = await new Promise(done => {
          const w = new Worker('/worker.js');
          w.onmessage = e => { done(e.data); w.terminate(); };
          w.postMessage(n);
        });
        await report(n + ' worker ' + r);
      } else {
        const r = await fetch('/export', {method: 'POST', body: 'n=' + n})
          .then(r => 'status ' + r.status, e => 'error ' + e);
        await report(n + ' fetch ' + r);
      }
    }
  }
  setTimeout(poll, 100);
}
poll();
</script>"#;

// A dedicated worker that posts to /export when told, and answers how it went.
// Fetches `n` paths of `kb` KiB each, 20 at a time, then reports to /report/flood.
const FLOOD: &str = r#"<script>
const q = new URLSearchParams(location.search);
const n = +q.get('n'), pad = 'a'.repeat(+q.get('kb') * 1024);
(async () => {
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({length: Math.min(20, n - i)},
      (_, j) => fetch('/long/' + (i + j) + '/' + pad).catch(() => {})));
  }
  await fetch('/report/flood', {method: 'POST', body: String(n)});
})();
</script>"#;

const WORKER: &str = r#"onmessage = async e => {
  const r = await fetch('/export', {method: 'POST', body: 'n=' + e.data})
    .then(r => 'status ' + r.status, err => 'error ' + err);
  postMessage(r);
};"#;

/// `Sec-WebSocket-Accept` for a client key (RFC 6455).
fn ws_accept(key: &str) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

fn serve(
    stream: TcpStream,
    peer: String,
    hits: &(Mutex<Vec<Hit>>, Condvar),
    refresh: &AtomicU16,
    submits: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    while let Some(request) = super::http::read_request(&mut reader) {
        let super::http::Request { headers, body, .. } = &request;
        let (path, query) = request.path_and_query();
        let mut extra = String::new();
        let mut status = "200 OK".to_owned();
        let ws_key = headers.get("sec-websocket-key").cloned();
        let page = match path {
            "/ws-big" if ws_key.is_some() => {
                record(hits, path, &peer, headers, body);
                let mb: usize = query_value(query, "mb")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(20);
                let head = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                    ws_accept(ws_key.as_deref().unwrap_or(""))
                );
                // One unmasked text frame with a 64-bit length (RFC 6455 §5.2).
                let len = mb * 1024 * 1024;
                let mut frame = vec![0x81u8, 127];
                frame.extend_from_slice(&(len as u64).to_be_bytes());
                frame.resize(frame.len() + len, b'x');
                if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&frame).is_err() {
                    return;
                }
                let mut sink = [0u8; 1024];
                while reader.read(&mut sink).unwrap_or(0) > 0 {}
                return;
            }
            "/ws" if ws_key.is_some() => {
                record(hits, path, &peer, headers, body);
                let head = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                    ws_accept(ws_key.as_deref().unwrap_or(""))
                );
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                // Hold the socket open and idle until the other side closes it.
                let mut sink = [0u8; 1024];
                while reader.read(&mut sink).unwrap_or(0) > 0 {}
                return;
            }
            "/app" => APP.to_owned(),
            "/api/refresh" => {
                let code = refresh.load(Ordering::SeqCst);
                status = format!("{code} {}", if code == 200 { "OK" } else { "Error" });
                "{\"token\": \"t\"}".to_owned()
            }
            "/api/data" => "{\"items\": []}".to_owned(),
            "/api/private" => {
                status = "401 Unauthorized".to_owned();
                "{\"error\": \"unauthorized\"}".to_owned()
            }
            "/account" => {
                status = "302 Found".to_owned();
                extra = "Location: /login?next=/account\r\n".to_owned();
                String::new()
            }
            "/challenge" => "<html><body>prove you are you</body></html>".to_owned(),
            "/ip" => peer.clone(),
            "/login" => {
                let user = query.strip_prefix("user=").unwrap_or("someone");
                extra = format!("Set-Cookie: sid={user}; Max-Age=86400; Path=/; HttpOnly\r\n");
                // After the cookie is stored, ask for a page that shows what the browser sends.
                "<script>location.href = '/whoami';</script>".to_owned()
            }
            "/env" => REPORT_ENV.to_owned(),
            "/attack" => ATTACK_API.to_owned(),
            "/ice" => REPORT_ICE.to_owned(),
            "/settings" => SETTINGS.to_owned(),
            "/worker.js" => WORKER.to_owned(),
            "/flood" => FLOOD.to_owned(),
            // The next submission the page should make after `done` ones: `N kind`, or empty.
            "/api/submit" => {
                let done: usize = query
                    .strip_prefix("done=")
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0);
                let s = submits.lock().expect("lock");
                s.get(done)
                    .map_or_else(String::new, |k| format!("{} {k}", done + 1))
            }
            "/account/password" => "<title>password changed</title>changed".to_owned(),
            "/export" => "{\"export\": \"started\"}".to_owned(),
            "/hello" => {
                "<html><title>hello</title><body>hello from the site</body></html>".to_owned()
            }
            _ => "<html><body>ok</body></html>".to_owned(),
        };
        record(hits, path, &peer, headers, body);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: {}\r\nCache-Control: no-store\r\n{extra}\r\n",
            page.len(),
            match path {
                "/ip" | "/api/submit" => "text/plain",
                "/worker.js" => "text/javascript",
                _ => "text/html",
            },
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(page.as_bytes()).is_err()
        {
            return;
        }
    }
}

fn record(
    hits: &(Mutex<Vec<Hit>>, Condvar),
    path: &str,
    peer: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) {
    let (lock, cv) = hits;
    lock.lock().expect("lock").push(Hit {
        path: path.to_owned(),
        peer: peer.to_owned(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
    });
    cv.notify_all();
}

/// The value of `key` in a query string.
fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
    })
}
