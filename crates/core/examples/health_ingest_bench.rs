//! Health ingest benchmark: DevTools events (as Chromium 156 sends them: requestWillBeSent,
//! its ExtraInfo, responseReceived and its ExtraInfo, dataReceived, loadingFinished) through the
//! whole session-layer path — parse, track, classify, attribute, batched SQLite writes — on one
//! core (a current-thread runtime), against two baselines in the same run: parsing the same
//! messages only (what any observer must do at least), and the same records written one INSERT
//! per request (no batching). Checks that every request was written (no loss).
//!
//! Usage: health_ingest_bench [REQUESTS]

use std::time::Instant;

use chrono::Utc;
use holdfast_core::browser::devtools::parse_event;
use holdfast_core::health::attribution::Attribution;
use holdfast_core::health::outcome_rows as outcomes;
use holdfast_core::health::{OutcomeWriter, Pipeline, TemplateRules, WriterConfig};
use holdfast_core::store::Store;
use holdfast_core::TemplateDraft;

/// Events per request in the generated stream.
const EVENTS_PER_REQUEST: usize = 6;

fn main() {
    let requests: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(requests));
}

fn messages(requests: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(requests * EVENTS_PER_REQUEST);
    for i in 0..requests {
        let id = format!("4707.{i}");
        let url = match i % 10 {
            0 => "https://app.example.test/api/refresh".to_owned(),
            1 => format!("https://app.example.test/api/private?token=secret{i}"),
            _ => format!("https://cdn.example.test/assets/{i}.js?v=3"),
        };
        let status = if i % 10 == 1 { 401 } else { 200 };
        let ts = 1000.0 + i as f64 * 0.001;
        let session = "\"sessionId\":\"9F2C6A0E1B5D4C3A8E7F6A5B4C3D2E1F\"";
        out.push(format!(
            r#"{{"method":"Network.requestWillBeSent","params":{{"requestId":"{id}","loaderId":"6969BFD739B574D8A568AA262329AA61","documentURL":"https://app.example.test/","request":{{"url":"{url}","method":"GET","headers":{{"Referer":"https://app.example.test/","User-Agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36","Accept":"*/*"}},"mixedContentType":"none","initialPriority":"High","referrerPolicy":"strict-origin-when-cross-origin","isSameSite":true}},"timestamp":{ts},"wallTime":1795000000.{i:06},"initiator":{{"type":"script","stack":{{"callFrames":[{{"functionName":"tick","scriptId":"3","url":"https://app.example.test/","lineNumber":5,"columnNumber":14}}]}}}},"redirectHasExtraInfo":false,"type":"Fetch","frameId":"C694998E7AD3FBDF7FB2EA8C50C9B7D2","hasUserGesture":false}},{session}}}"#
        ));
        out.push(format!(
            r#"{{"method":"Network.requestWillBeSentExtraInfo","params":{{"requestId":"{id}","associatedCookies":[],"headers":{{"Accept":"*/*","Host":"app.example.test"}},"connectTiming":{{"requestTime":{ts}}},"siteHasCookieInOtherPartition":false}},{session}}}"#
        ));
        out.push(format!(
            r#"{{"method":"Network.responseReceivedExtraInfo","params":{{"requestId":"{id}","blockedCookies":[],"headers":{{"Content-Length":"14","Content-Type":"application/json"}},"resourceIPAddressSpace":"Public","statusCode":{status},"headersText":"HTTP/1.1 {status} OK\r\n"}},{session}}}"#
        ));
        out.push(format!(
            r#"{{"method":"Network.responseReceived","params":{{"requestId":"{id}","loaderId":"6969BFD739B574D8A568AA262329AA61","timestamp":{t2},"type":"Fetch","response":{{"url":"{url}","status":{status},"statusText":"OK","headers":{{"Content-Length":"14","Content-Type":"application/json","Cache-Control":"no-store"}},"mimeType":"application/json","charset":"","connectionReused":true,"connectionId":45,"remoteIPAddress":"127.0.0.1","remotePort":8080,"fromDiskCache":false,"fromServiceWorker":false,"fromPrefetchCache":false,"encodedDataLength":126,"timing":{{"requestTime":{ts},"proxyStart":-1,"proxyEnd":-1,"dnsStart":-1,"dnsEnd":-1,"connectStart":0.5,"connectEnd":1.5,"sslStart":0.9,"sslEnd":1.4,"workerStart":-1,"workerReady":-1,"workerFetchStart":-1,"workerRespondWithSettled":-1,"sendStart":1.6,"sendEnd":1.7,"pushStart":0,"pushEnd":0,"receiveHeadersStart":6.0,"receiveHeadersEnd":6.2}},"responseTime":1795000000123.5,"protocol":"http/1.1","alternateProtocolUsage":"unspecifiedReason","securityState":"secure"}},"hasExtraInfo":true,"frameId":"C694998E7AD3FBDF7FB2EA8C50C9B7D2"}},{session}}}"#,
            t2 = ts + 0.0062
        ));
        out.push(format!(
            r#"{{"method":"Network.dataReceived","params":{{"requestId":"{id}","timestamp":{ts},"dataLength":14,"encodedDataLength":0}},{session}}}"#
        ));
        out.push(format!(
            r#"{{"method":"Network.loadingFinished","params":{{"requestId":"{id}","timestamp":{ts},"encodedDataLength":140}},{session}}}"#
        ));
    }
    out
}

async fn run(requests: usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&tmp.path().join("holdfast.db"))
        .await
        .expect("store");
    let (template, _) = TemplateDraft {
        name: "bench".into(),
        exit: "direct".into(),
        ..TemplateDraft::default()
    }
    .validate(Utc::now())
    .expect("template");
    {
        let mut conn = store.pool().acquire().await.expect("conn");
        holdfast_core::store::templates::insert(&mut conn, &template)
            .await
            .expect("insert template");
    }
    let msgs = messages(requests);
    let events = msgs.len();

    // Baseline 1: parse only.
    let t = Instant::now();
    let mut parsed = 0usize;
    for m in &msgs {
        if parse_event(m).is_some() {
            parsed += 1;
        }
    }
    let parse_rate = events as f64 / t.elapsed().as_secs_f64();
    assert_eq!(parsed, events);

    // Holdfast: the whole path, batched writes, waiting until the last row is committed.
    let writer = OutcomeWriter::spawn(
        store.clone(),
        WriterConfig {
            template_id: template.id.clone(),
            session_id: "bench-batched".into(),
            retention: chrono::Duration::days(30),
            max_rows: 100_000_000,
            max_bytes: u64::MAX,
        },
    );
    let mut pipeline = Pipeline::new(
        TemplateRules::default(),
        Attribution::new("direct", Some("127.0.0.2".into())),
    );
    let t = Instant::now();
    let mut records = Vec::with_capacity(requests);
    for (i, m) in msgs.iter().enumerate() {
        let Some(ev) = parse_event(m) else { continue };
        if let Some(r) = pipeline.on_cdp(&ev) {
            records.push(r.clone());
            writer.push(r);
        }
        // Let the writer run now and then, as the live observer's runtime would.
        if i % 4096 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let written = writer.finish().await;
    let holdfast_rate = events as f64 / t.elapsed().as_secs_f64();
    assert_eq!(
        written as usize, requests,
        "every request was written: no loss"
    );

    // Baseline 2: the same records, one INSERT (one implicit transaction) per request.
    let naive_n = requests.min(10_000);
    let t = Instant::now();
    {
        let mut conn = store.pool().acquire().await.expect("conn");
        for r in records.iter().take(naive_n) {
            outcomes::insert_batch(
                &mut conn,
                &template.id,
                "bench-naive",
                std::slice::from_ref(r),
            )
            .await
            .expect("insert");
        }
    }
    let naive_rate = (naive_n * EVENTS_PER_REQUEST) as f64 / t.elapsed().as_secs_f64();

    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM request_outcomes WHERE session_id = 'bench-batched'",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(count as usize, requests, "rows in the store");

    println!("health ingest: {requests} requests, {events} CDP events, one core");
    println!("  parse only (baseline)          {parse_rate:>12.0} events/s");
    println!("  row per request (baseline)     {naive_rate:>12.0} events/s  ({naive_n} requests)");
    println!("  holdfast (track+classify+batched writes) {holdfast_rate:>12.0} events/s");
    println!(
        "  ratio holdfast / parse only: {:.2}; holdfast / row per request: {:.1}x",
        holdfast_rate / parse_rate,
        holdfast_rate / naive_rate
    );
    let target = 20_000.0;
    println!(
        "  target >= {target:.0} events/s without loss: {}",
        if holdfast_rate >= target && count as usize == requests {
            "PASS"
        } else {
            "FAIL"
        }
    );
}
