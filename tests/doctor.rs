//! `hypernet doctor` through the real binary: a configuration that would run is all `ok`;
//! one with a missing API key, an unreachable server, no model provider and a taken port
//! gets one line for each, saying what to fix, and a failing exit.

use hypernet_integration::Env;

#[test]
fn a_sound_setup_is_all_ok_and_a_broken_one_is_told_what_to_fix() {
    let env = Env::new();
    let good = env.manifest("[[plugin]]\nname = \"provider-sim\"\n");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_addr = free.local_addr().unwrap().to_string();
    drop(free);
    let run = env.run(&[
        "doctor",
        "--manifest",
        good.to_str().unwrap(),
        "--listen",
        &free_addr,
    ]);
    let out = run.ok();
    for line in [
        "ok    plugin    provider-sim loads",
        "ok    disk      ",
        "ok    port      ",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    assert!(!out.contains("FIX"), "{out}");

    // A closed port for the server, a variable nobody set, the API's port taken.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let broken = env.manifest(&format!(
        "[[plugin]]\nname = \"provider-openai\"\n[plugin.config]\nbase_url = \"{closed_url}\"\n\
         api_key_env = \"HN_DOCTOR_TEST_UNSET_KEY\"\n"
    ));
    let run = env.run(&[
        "doctor",
        "--manifest",
        broken.to_str().unwrap(),
        "--listen",
        &taken_addr,
    ]);
    let err = run.fails();
    let out = &run.stdout;
    assert!(
        err.contains("3 thing(s) to fix before `hypernet run`"),
        "{err}"
    );
    assert!(
        out.contains(
            "FIX   key       provider-openai reads its API key from HN_DOCTOR_TEST_UNSET_KEY, \
             which is not set: export HN_DOCTOR_TEST_UNSET_KEY=…"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FIX   server    provider-openai cannot reach {closed_url}"
        )) && out.contains("start the server or correct `base_url`"),
        "{out}"
    );
    assert!(
        out.contains(&format!("FIX   port      {taken_addr}: ")) && out.contains("--listen"),
        "{out}"
    );
    drop(taken);

    // A channel's mail server and its password's variable.
    let mail = env.manifest(&format!(
        "[[plugin]]\nname = \"provider-sim\"\n[[plugin]]\nname = \"channel-email\"\n\
         [plugin.config]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"swarm@example.org\"\n\
         password_env = \"HN_DOCTOR_TEST_UNSET_PASSWORD\"\n",
        closed_url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/v1")
    ));
    let run = env.run(&[
        "doctor",
        "--manifest",
        mail.to_str().unwrap(),
        "--listen",
        &free_addr,
    ]);
    run.fails();
    assert!(
        run.stdout.contains(
            "FIX   key       channel-email reads its password from HN_DOCTOR_TEST_UNSET_PASSWORD"
        ) && run
            .stdout
            .contains("FIX   server    channel-email cannot reach smtp://127.0.0.1:"),
        "{}",
        run.stdout
    );

    // No model provider at all.
    let none = env.manifest("[[plugin]]\nname = \"example\"\n");
    let run = env.run(&[
        "doctor",
        "--manifest",
        none.to_str().unwrap(),
        "--listen",
        &free_addr,
    ]);
    run.fails();
    assert!(
        run.stdout.contains("FIX   provider")
            && run.stdout.contains("no model provider is enabled"),
        "{}",
        run.stdout
    );
}
