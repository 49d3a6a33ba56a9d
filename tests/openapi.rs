//! `GET /api/openapi.json` on the real binary: an OpenAPI 3 document, and every operation it
//! lists is one the host routes (a documented route answers with its own result or refusal,
//! never the unknown-route 404 or the 405).

use hypernet_integration::Env;
use serde_json::json;

const SIM: &str = "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n";

#[test]
fn the_document_is_served_and_every_operation_in_it_is_routed() {
    let env = Env::new();
    env.manifest(SIM);
    let _host = env.start();
    let (status, doc) = env.api("/api/openapi.json", None);
    assert_eq!(status, 200, "{doc}");
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "not OpenAPI 3: {version:?}");
    assert_eq!(doc["info"]["title"], "Hypernet Swarm API");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.contains_key("/api/openapi.json"),
        "{:?}",
        paths.keys()
    );
    for (path, item) in paths {
        // Ids and names that exist nowhere, and empty bodies: nothing changes.
        let concrete = path
            .replace("{id}", "T-999999")
            .replace("{name}", "nobody")
            .replace("{query}", "nothing");
        for method in item.as_object().expect("a path item").keys() {
            let (status, body) = match method.as_str() {
                "get" => env.api(&concrete, None),
                "post" if item["post"]["requestBody"].is_null() => env.act(&concrete),
                "post" => env.api(&concrete, Some(&json!({}))),
                other => panic!("{other} {path}: only GET and POST are expected"),
            };
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                status != 405 && !message.starts_with("no route"),
                "{method} {path} is documented but not routed: {status} {body}"
            );
        }
    }
}
