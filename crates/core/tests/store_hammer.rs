//! The store under fire: an "agent" appends to a log (open, append, close — as editors and
//! `echo >>` do) while the server rewrites the same file thousands of times. No appended text
//! may ever be lost.

use daebug_core::log::edit;
use daebug_core::store::{Edit, Store};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn no_agent_append_is_ever_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realm.md");
    std::fs::write(
        &path,
        format!("# realm session\n\n---\n\n{}", edit::footer()),
    )
    .unwrap();
    let rounds: usize = std::env::var("DAEBUG_HAMMER_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);

    let done = Arc::new(AtomicBool::new(false));
    let agent = {
        let path = path.clone();
        std::thread::spawn(move || {
            for i in 0..rounds {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(format!("agent-line-{i}\n").as_bytes()).unwrap();
                if i % 7 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    let server = {
        let path = path.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let store = Store::new();
            let mut n = 0;
            while !done.load(Ordering::Relaxed) || n < rounds {
                // What the server does to a log, minus the Markdown parsing: insert above the
                // footer. (The parsing edits are covered by the log fixtures.)
                store
                    .edit(&path, |t| {
                        let at = t.rfind(&edit::footer()).expect("footer");
                        Edit::Write(format!("{}server-{n}\n\n{}", &t[..at], &t[at..]), ())
                    })
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    agent.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let server_writes = server.join().unwrap();
    // Late appends through a handle opened before a rename are recovered after a grace period.
    std::thread::sleep(Duration::from_millis(600));

    let text = std::fs::read_to_string(&path).unwrap();
    let mut missing = Vec::new();
    for i in 0..rounds {
        let needle = format!("agent-line-{i}\n");
        match text.matches(&needle).count() {
            1 => {}
            0 => missing.push(i),
            n => panic!("agent-line-{i} appears {n} times"),
        }
    }
    assert!(
        missing.is_empty(),
        "lost {} of {rounds} agent appends, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    for n in 0..server_writes {
        assert!(
            text.contains(&format!("server-{n}\n")),
            "server write {n} lost"
        );
    }
    // Appended lines stay in the order they were written.
    let positions: Vec<usize> = (0..rounds)
        .map(|i| text.find(&format!("agent-line-{i}\n")).unwrap())
        .collect();
    let out_of_order = positions.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        out_of_order <= rounds / 100,
        "{out_of_order} appends out of order"
    );
    eprintln!("{rounds} agent appends, {server_writes} server rewrites, none lost");
}
