//! The readers end to end, on every accepted format.

use super::*;

fn read_all(name: &str, bytes: &[u8]) -> (Vec<(u32, String)>, AuditReader) {
    let mut r = AuditReader::new(ReadOptions {
        batch_bytes: 64,
        ..ReadOptions::default()
    });
    let mut got = Vec::new();
    r.read_stream(name, bytes, &mut |b| {
        for p in &b.events {
            got.push((
                p.line,
                p.event.audit_id.as_deref().unwrap_or("").to_string(),
            ));
        }
    });
    (got, r)
}

fn ev(id: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"get","user":{{"username":"u"}}}}"#
    )
}

#[test]
fn json_lines_with_errors_and_duplicates() {
    let text = format!(
        "{}\n\n{}\nnot json\n{}\n{}\n{{\"kind\": 0}}\n{}",
        ev("a"),
        ev("b"),
        ev("a"),
        &ev("c")[..40],
        ev("d")
    );
    let (got, r) = read_all("x.log", text.as_bytes());
    assert_eq!(got, [(1, "a".into()), (3, "b".into()), (8, "d".into())]);
    let s = r.stats();
    assert_eq!(
        (s.events_read, s.duplicates, s.truncated, s.malformed),
        (4, 1, 1, 2)
    );
    let lines: Vec<_> = r.errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(4), Some(6), Some(7)]);
}

#[test]
fn pretty_array_and_event_list() {
    let text = format!("[\n  {},\n  {}\n]\n", ev("a"), ev("b"));
    assert_eq!(
        read_all("a.json", text.as_bytes()).0,
        [(2, "a".into()), (3, "b".into())]
    );
    let text = format!(
        "{{\n \"kind\": \"EventList\",\n \"apiVersion\": \"audit.k8s.io/v1\",\n \"items\": [\n  {},\n  {}\n ]\n}}\n",
        ev("a"),
        ev("b")
    );
    assert_eq!(
        read_all("l.json", text.as_bytes()).0,
        [(5, "a".into()), (6, "b".into())]
    );
    // The same on one line.
    let text = format!(
        r#"{{"kind":"EventList","items":[{},{}]}}"#,
        ev("a"),
        ev("b")
    );
    assert_eq!(
        read_all("l.json", text.as_bytes()).0,
        [(1, "a".into()), (1, "b".into())]
    );
}

#[test]
fn single_pretty_event() {
    let text = "{\n  \"kind\": \"Event\",\n  \"auditID\": \"p\",\n  \"verb\": \"get\"\n}\n";
    assert_eq!(read_all("e.json", text.as_bytes()).0, [(1, "p".into())]);
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn filter_log_events_output() {
    let text = format!(
        "{{\n    \"events\": [\n        {{\n            \"logStreamName\": \"kube-apiserver-audit-1\",\n            \"timestamp\": 1700000000123,\n            \"message\": {},\n            \"eventId\": \"1\"\n        }},\n        {{\n            \"logStreamName\": \"kube-apiserver-audit-1\",\n            \"message\": {}\n        }}\n    ],\n    \"searchedLogStreams\": []\n}}\n",
        quoted(&ev("a")),
        quoted(&(ev("b")[..60].to_string() + "[Truncated...]"))
    );
    let (got, r) = read_all("cw.json", text.as_bytes());
    assert_eq!(got, [(6, "a".into())]);
    assert_eq!(r.stats().truncated, 1);
    assert_eq!(r.errors()[0].line, Some(11));
    assert!(
        r.errors()[0].message.contains("auditID b"),
        "{:?}",
        r.errors()
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn encode_base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn subscription(kind: &str, messages: &[String]) -> String {
    let events: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                r#"{{"id":"{i}","timestamp":1700000000000,"message":{}}}"#,
                quoted(m)
            )
        })
        .collect();
    format!(
        r#"{{"messageType":"{kind}","owner":"111122223333","logGroup":"/aws/eks/demo/cluster","logStream":"kube-apiserver-audit-1","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
        events.join(",")
    )
}

#[test]
fn gzip_lines_and_subscription_payloads() {
    let plain = format!("{}\n{}\n", ev("a"), ev("b"));
    assert_eq!(read_all("x.gz", &gzip(plain.as_bytes())).0.len(), 2);

    let data = subscription("DATA_MESSAGE", &[ev("a"), ev("b")]);
    let control = subscription(
        "CONTROL_MESSAGE",
        &["CWL CONTROL MESSAGE: Checking health".into()],
    );
    // Firehose without a transform: gzip members one after another.
    let mut fire = gzip(data.as_bytes());
    fire.extend(gzip(control.as_bytes()));
    fire.extend(gzip(subscription("DATA_MESSAGE", &[ev("c")]).as_bytes()));
    let (got, r) = read_all("firehose.gz", &fire);
    assert_eq!(
        got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert!(r.errors().is_empty(), "{:?}", r.errors());

    // Kinesis record data saved as base64 text.
    let b64 = encode_base64(&gzip(data.as_bytes()));
    assert_eq!(read_all("record.b64", b64.as_bytes()).0.len(), 2);

    // A Lambda event, one per line.
    let lambda = format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#);
    let two = format!("{lambda}\n{lambda}\n");
    let (got, r) = read_all("lambda.json", two.as_bytes());
    // The second copy repeats the first: its events are duplicates.
    assert_eq!(got.len(), 2);
    assert_eq!(r.stats().duplicates, 2);
    // Control messages alone, pretty or not, yield nothing and no error.
    let (got, r) = read_all("ctl.json", control.as_bytes());
    assert!(got.is_empty() && r.errors().is_empty());
}

#[test]
fn s3_export_and_tail_lines() {
    let text = format!(
        "2024-05-01T12:00:00.000Z {}\n2024-05-01T12:00:01.000Z kube-apiserver-audit-0123 {}\n",
        ev("a"),
        ev("b")
    );
    assert_eq!(
        read_all("000000", text.as_bytes()).0,
        [(1, "a".into()), (2, "b".into())]
    );
}

#[test]
fn messages_from_an_api() {
    let mut r = AuditReader::new(ReadOptions::default());
    let (a, bad) = (ev("a"), b"{\"kind\":\"Event\"".to_vec());
    let msgs: Vec<(u32, &[u8])> = vec![(0, a.as_bytes()), (1, &bad)];
    let mut n = 0;
    r.read_messages(
        "/aws/eks/demo/cluster/kube-apiserver-audit-1",
        &msgs,
        &mut |b| {
            n += b.events.len();
            assert_eq!(&**b.file, "/aws/eks/demo/cluster/kube-apiserver-audit-1");
        },
    );
    assert_eq!(n, 1);
    assert_eq!(r.errors()[0].line, Some(1));
    assert_eq!(r.stats().truncated, 1);
}

#[test]
fn cut_document_and_junk() {
    let text = format!("[\n{},\n{}", ev("a"), &ev("b")[..50]);
    let (got, r) = read_all("cut.json", text.as_bytes());
    assert_eq!(got, [(2, "a".into())]);
    assert_eq!(r.stats().truncated, 1);
    let (got, r) = read_all("junk", &[0xff, 0xfe, b'\n', 0, 1, 2]);
    assert!(got.is_empty());
    assert_eq!(r.stats().malformed, 2);
    let (_, r) = read_all("junk.gz", &[0x1f, 0x8b, 1, 2, 3]);
    assert_eq!(r.errors().len(), 1);
}

#[test]
fn directories_are_read_in_name_order() {
    let dir = std::env::temp_dir().join(format!("eksguard-audit-dir-{}", std::process::id()));
    let sub = dir.join("task/kube-apiserver-audit-1");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("000001.gz"),
        gzip(format!("2024-05-01T12:00:01Z {}\n", ev("b")).as_bytes()),
    )
    .unwrap();
    std::fs::write(
        sub.join("000000.gz"),
        gzip(format!("2024-05-01T12:00:00Z {}\n", ev("a")).as_bytes()),
    )
    .unwrap();
    std::fs::write(dir.join(".hidden"), "junk").unwrap();
    let mut r = AuditReader::new(ReadOptions::default());
    let mut got = Vec::new();
    r.read_path(&dir, &mut |b| {
        for p in &b.events {
            got.push((
                b.file.to_string(),
                p.event.audit_id.as_deref().unwrap().to_string(),
            ));
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert_eq!(r.inputs(), 2);
    assert!(
        got[0].0.ends_with("000000.gz") && got[0].1 == "a",
        "{got:?}"
    );
    assert!(
        got[1].0.ends_with("000001.gz") && got[1].1 == "b",
        "{got:?}"
    );
}

#[test]
fn line_numbers_across_batches() {
    // Blank lines, CRLF, and batches that end anywhere.
    let mut text = String::new();
    let mut want = Vec::new();
    for i in 0..200 {
        match i % 4 {
            0 => text.push('\n'),
            1 => text.push_str(&format!("{}\r\n", ev(&format!("e{i}")))),
            _ => {
                text.push_str(&ev(&format!("e{i}")));
                text.push('\n');
            }
        }
        if i % 4 != 0 {
            want.push((i as u32 + 1, format!("e{i}")));
        }
    }
    for batch in [4096, 5000, 1 << 20] {
        let mut r = AuditReader::new(ReadOptions {
            batch_bytes: batch,
            ..ReadOptions::default()
        });
        let mut got = Vec::new();
        r.read_stream("n.log", text.as_bytes(), &mut |b| {
            got.extend(
                b.events
                    .iter()
                    .map(|p| (p.line, p.event.audit_id.as_deref().unwrap().to_string())),
            )
        });
        assert_eq!(got, want, "batch {batch}");
        assert!(r.errors().is_empty());
    }
}

#[test]
fn a_one_line_event_list_is_read_event_by_event() {
    // An EventList on one line, longer than the first bytes looked at (64 KiB) and
    // than the event size limit: its events are cut out one by one, and the one
    // event over the limit is refused with the file and line.
    let pad = "p".repeat(1000);
    let mut items: Vec<String> = (0..100)
        .map(|i| ev(&format!("e{i}")).replace(r#""verb""#, &format!(r#""x":"{pad}","verb""#)))
        .collect();
    items[50] = ev("big").replace(
        r#""verb""#,
        &format!(r#""x":"{}","verb""#, "q".repeat(9000)),
    );
    let text = format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}}"#,
        items.join(",")
    );
    assert!(text.len() > 100_000);
    let mut r = AuditReader::new(ReadOptions {
        batch_bytes: 4096,
        max_event_bytes: 5000,
        ..ReadOptions::default()
    });
    let mut got = Vec::new();
    r.read_stream("list.json", text.as_bytes(), &mut |b| {
        got.extend(
            b.events
                .iter()
                .map(|p| (p.line, p.event.audit_id.as_deref().unwrap().to_string())),
        )
    });
    assert_eq!(got.len(), 99);
    assert!(got.iter().all(|(line, id)| *line == 1 && id != "big"));
    assert_eq!(r.stats().events_read, 99);
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((&*errors[0].file, errors[0].line), ("list.json", Some(1)));
    assert_eq!(errors[0].message, "event longer than 5000 bytes skipped");
}

#[cfg(unix)]
#[test]
fn fifos_and_links_to_directories_are_refused() {
    let dir = std::env::temp_dir().join(format!("eksguard-audit-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.log"), format!("{}\n", ev("a"))).unwrap();
    let fifo = dir.join("b.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo not available");
        return;
    }
    // A link back up: followed, the walk would not end.
    std::os::unix::fs::symlink(&dir, dir.join("c-loop")).unwrap();
    let mut r = AuditReader::new(ReadOptions::default());
    let mut got = Vec::new();
    // Nothing writes to the FIFO: opening it for a read would wait forever.
    r.read_path(&dir, &mut |b| got.extend(b.events.iter().map(|p| p.line)));
    r.read_path(&fifo, &mut |b| got.extend(b.events.iter().map(|p| p.line)));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(got, [1]);
    let errors: Vec<(String, String)> = r
        .errors()
        .iter()
        .map(|e| {
            (
                e.file.rsplit('/').next().unwrap().to_string(),
                e.message.clone(),
            )
        })
        .collect();
    let fifo_msg =
        "a FIFO, not a regular file: skipped (give a pipe's output as `-`, standard input)";
    assert_eq!(
        errors,
        [
            ("b.pipe".to_string(), fifo_msg.to_string()),
            (
                "c-loop".to_string(),
                "a symbolic link to a directory inside a directory read: not followed".to_string()
            ),
            ("b.pipe".to_string(), fifo_msg.to_string()),
        ]
    );
}

#[test]
fn long_lines_are_skipped_with_an_error() {
    let mut r = AuditReader::new(ReadOptions {
        batch_bytes: 4096,
        max_event_bytes: 5000,
        ..ReadOptions::default()
    });
    let text = format!("{}\n{}\n{}\n", ev("a"), "x".repeat(20_000), ev("b"));
    let mut got = Vec::new();
    r.read_stream("long.log", text.as_bytes(), &mut |b| {
        got.extend(b.events.iter().map(|p| p.line))
    });
    assert_eq!(got, [1, 3]);
    assert_eq!(r.errors()[0].line, Some(2));
}
