//! The document is complete: every served route and method is in it with its access, every
//! `$ref` resolves, and it is OpenAPI 3.

use super::super::{Access, routes};
use super::{BEARER, document, operations};
use crate::page::MAX_LIMIT;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The document as served, parsed.
fn parsed() -> Value {
    serde_json::from_str(document()).expect("the document is JSON")
}

/// Every `(path, method, access)` the router serves, the method as the document spells it.
fn served() -> Vec<(&'static str, String, Access)> {
    let mut served = Vec::new();
    for (path, access, make) in routes() {
        let (_, mut paths, _) = make();
        let documented: Vec<&String> = paths.paths.keys().collect();
        assert_eq!(
            documented,
            [path],
            "the handler of {path} documents the path(s) {documented:?}"
        );
        let item = paths.paths.get_mut(path).expect("one path");
        let methods: Vec<String> = [
            ("get", item.get.is_some()),
            ("put", item.put.is_some()),
            ("post", item.post.is_some()),
            ("delete", item.delete.is_some()),
            ("options", item.options.is_some()),
            ("head", item.head.is_some()),
            ("patch", item.patch.is_some()),
            ("trace", item.trace.is_some()),
        ]
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(method, _)| method.to_owned())
        .collect();
        assert_eq!(
            methods.len(),
            operations(item).count(),
            "a method of {path} is missing from this test's list"
        );
        assert!(!methods.is_empty(), "{path} serves no documented method");
        served.extend(methods.into_iter().map(|m| (path, m, access)));
    }
    served
}

/// Every `$ref` anywhere in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(field, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[test]
fn is_openapi_3_with_its_title_version_and_bearer_scheme() {
    let doc = parsed();
    let version = doc["openapi"].as_str().expect("an `openapi` field");
    assert!(version.starts_with("3."), "OpenAPI {version}");
    assert_eq!(doc["info"]["title"], "Hypernet Swarm API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"][BEARER],
        json!({
            "type": "http",
            "scheme": "bearer",
            "description": "The host's token, from `<data-dir>/api-token`; the CLI reads it itself",
        })
    );
}

#[test]
fn every_served_route_and_method_is_documented_and_nothing_else() {
    let doc = parsed();
    let served = served();
    for (path, method, _) in &served {
        assert!(
            doc["paths"][path][method].is_object(),
            "{} {path} is served but not in the document",
            method.to_uppercase()
        );
    }
    let served: BTreeSet<(String, String)> = served
        .into_iter()
        .map(|(path, method, _)| (path.to_owned(), method))
        .collect();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("a path item").keys();
            methods.map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    assert_eq!(documented, served, "documented but not served");
}

#[test]
fn every_ref_resolves_to_a_schema() {
    let doc = parsed();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20, "only {} refs", found.len());
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("`{target}` points outside components.schemas"));
        assert!(schemas.contains_key(name), "`{target}` resolves to nothing");
    }
}

#[test]
fn operations_have_unique_ids_and_every_refusal_is_the_error_shape() {
    let doc = parsed();
    let mut ids = BTreeSet::new();
    for (path, method, _) in served() {
        let operation = &doc["paths"][path][&method];
        let id = operation["operationId"].as_str().expect("an operationId");
        assert!(
            ids.insert(id.to_owned()),
            "operationId `{id}` is used twice"
        );
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.contains_key("200") || responses.contains_key("101"),
            "{method} {path} documents no success"
        );
        for (status, response) in responses.iter().filter(|(s, _)| s.as_str() >= "400") {
            if path == CHANNEL_INBOUND && status == "401" {
                // The channel's own refusal, in its service's format.
                continue;
            }
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} answers {status} without the error shape"
            );
        }
    }
}

/// The endpoint channel plugins receive their services' requests at.
const CHANNEL_INBOUND: &str = "/api/channels/{channel}/{path}";

#[test]
fn access_is_documented_as_the_router_enforces_it() {
    let doc = parsed();
    let bearer = json!({ BEARER: [] });
    for (path, method, access) in served() {
        let operation = &doc["paths"][path][&method];
        let security = &operation["security"];
        let has_401 = operation["responses"]["401"].is_object();
        match access {
            Access::Mutate => {
                assert_eq!(*security, json!([bearer]), "{method} {path}");
                assert!(has_401, "{method} {path} documents no 401");
            }
            Access::Read => {
                assert_eq!(*security, json!([{}, bearer]), "{method} {path}");
                assert!(has_401, "{method} {path} documents no 401");
            }
            Access::Open if path == "/api/events" => {
                assert_eq!(*security, json!([bearer]));
                assert!(has_401);
                let params: BTreeSet<&str> = operation["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .map(|p| p["name"].as_str().expect("a name"))
                    .collect();
                assert_eq!(params, BTreeSet::from(["token", "kinds", "after"]));
            }
            Access::Open => {
                assert!(security.is_null(), "{method} {path} is open");
                // A channel's endpoint is open to its service; the channel checks the
                // signature or secret and refuses with a 401 of its own.
                assert_eq!(has_401, path == CHANNEL_INBOUND, "{method} {path} is open");
            }
        }
    }
}

#[test]
fn generic_pages_refer_to_their_items_and_bounds_match_the_code() {
    let doc = parsed();
    let page = &doc["components"]["schemas"]["Page_Task"];
    assert_eq!(
        page["properties"]["items"]["items"],
        json!({ "$ref": "#/components/schemas/Task" })
    );
    for (path, method, _) in served() {
        let parameters = doc["paths"][path][&method]["parameters"]
            .as_array()
            .cloned();
        for limit in parameters
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == "limit")
        {
            assert_eq!(limit["schema"]["maximum"], MAX_LIMIT, "{method} {path}");
        }
    }
}

#[test]
fn the_body_layers_refusals_are_documented_on_every_route() {
    let doc = parsed();
    let mut without_body = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let answers = &operation["responses"];
            assert!(answers.get("413").is_some(), "{method} {path}: no 413");
            if operation.get("requestBody").is_none() {
                without_body += 1;
                let refusal = answers["400"]["description"].as_str().unwrap_or_default();
                assert!(
                    refusal.contains("a body was sent, and this route takes none"),
                    "{method} {path}: {refusal:?}"
                );
            }
        }
    }
    assert!(without_body > 20, "{without_body}");
    let cancel = &doc["paths"]["/api/tasks/{id}/cancel"]["post"]["responses"]["400"];
    assert_eq!(
        cancel["description"],
        "`invalid`: not a task id; or a body was sent, and this route takes none"
    );
}

#[test]
fn filing_documents_the_queue_limit() {
    let doc = parsed();
    let refusal = &doc["paths"]["/api/tasks"]["post"]["responses"]["429"]["description"];
    assert!(
        refusal
            .as_str()
            .unwrap_or_default()
            .contains("limit_reached"),
        "{refusal}"
    );
}
