//! The OpenAPI document of `/v1`, served at `/v1/openapi.json` and printed by `holdfast api
//! openapi`: the operations are listed here once with their Rust request and answer types,
//! and every schema is generated from those types (the same ones the handlers use).

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use holdfast_core::commands::types::*;
use holdfast_core::ErrorPayload;

use crate::routes::{
    AuditQuery, DecideRequest, ExportRequest, ImportRequest, RemoveQuery, StartReply, StartRequest,
};

/// One operation: method, path, id, summary, body and answer schemas, success status.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    body: Option<Value>,
    query: Option<Value>,
    answer: Option<Value>,
    status: u16,
    /// Answers a Server-Sent Events stream of `answer`s instead of one JSON value.
    stream: bool,
}

/// Builds `Op`s with their schemas from one generator (shared definitions).
struct Ops {
    gen: SchemaGenerator,
    list: Vec<Op>,
}

impl Ops {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        self.gen.subschema_for::<T>().to_value()
    }

    fn add(
        &mut self,
        method: &'static str,
        path: &'static str,
        id: &'static str,
        summary: &'static str,
    ) -> &mut Op {
        self.list.push(Op {
            method,
            path,
            id,
            summary,
            body: None,
            query: None,
            answer: None,
            status: 200,
            stream: false,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    /// `method path` answering `A` (200).
    fn op<A: JsonSchema>(
        &mut self,
        method: &'static str,
        path: &'static str,
        id: &'static str,
        summary: &'static str,
    ) -> &mut Op {
        let answer = self.schema::<A>();
        let op = self.add(method, path, id, summary);
        op.answer = Some(answer);
        op
    }

    /// As `op`, taking a JSON body `B`.
    fn with_body<B: JsonSchema, A: JsonSchema>(
        &mut self,
        method: &'static str,
        path: &'static str,
        id: &'static str,
        summary: &'static str,
        status: u16,
    ) {
        let body = self.schema::<B>();
        let op = self.op::<A>(method, path, id, summary);
        op.body = Some(body);
        op.status = status;
    }

    /// As `op`, with query parameters `Q` (an object schema).
    fn with_query<Q: JsonSchema, A: JsonSchema>(
        &mut self,
        method: &'static str,
        path: &'static str,
        id: &'static str,
        summary: &'static str,
    ) {
        // Inline: parameters are listed one by one.
        let query = SchemaSettings::openapi3()
            .with(|s| s.inline_subschemas = true)
            .into_generator()
            .into_root_schema_for::<Q>()
            .to_value();
        let op = self.op::<A>(method, path, id, summary);
        op.query = Some(query);
    }
}

/// The OpenAPI 3.0 document of the API.
pub fn document() -> Value {
    let mut o = Ops {
        gen: SchemaSettings::openapi3().into_generator(),
        list: Vec::new(),
    };
    o.op::<Vec<Template>>(
        "get",
        "/v1/templates",
        "list_templates",
        "All templates, by name.",
    );
    o.with_body::<TemplateDraft, Template>(
        "post",
        "/v1/templates",
        "add_template",
        "Adds a template.",
        201,
    );
    o.op::<Template>(
        "get",
        "/v1/templates/{name}",
        "get_template",
        "One template by name.",
    );
    o.with_body::<TemplatePatch, Template>(
        "patch",
        "/v1/templates/{name}",
        "edit_template",
        "Changes a template (base_version: fail with edit_conflict if it changed since).",
        200,
    );
    o.with_query::<RemoveQuery, Removal>(
        "delete",
        "/v1/templates/{name}",
        "remove_template",
        "Removes a template (purge: its profile too).",
    );
    o.with_body::<StartRequest, StartReply>("post", "/v1/templates/{name}/start", "start", "Starts a template's browser with an automation port; 409 already_running names the holder.", 201);
    o.op::<SessionInfo>(
        "post",
        "/v1/templates/{name}/stop",
        "stop",
        "Stops a template's session (the browser closes cleanly).",
    );
    o.op::<CheckReport>(
        "post",
        "/v1/templates/{name}/check",
        "check_exit",
        "Fetches the egress IP through the template's exit now, with where the exit is and whether the template's timezone and locale fit it.",
    );
    o.op::<ExitFit>(
        "get",
        "/v1/templates/{name}/exit-fit",
        "exit_fit",
        "Where the template's exit is now (asked through the exit) and the timezone and locale that would fit it; nothing is saved (PATCH the template to apply).",
    );
    o.op::<HealthReport>(
        "get",
        "/v1/templates/{name}/health",
        "health",
        "Why sessions drop: both layers, per exit, over 5 min / 1 h / 24 h.",
    );
    o.op::<RiskState>(
        "get",
        "/v1/templates/{name}/risk",
        "risk",
        "The template's risk window now.",
    );
    o.op::<Vec<SessionInfo>>("get", "/v1/sessions", "list_sessions", "Running sessions.");
    o.op::<KeptEvent>("get", "/v1/events", "events", "Server-Sent Events of the API's sessions: launched, session events, risk window opened and closed, holds waiting, ended.").stream = true;
    o.op::<Vec<ExitStatus>>(
        "get",
        "/v1/exits",
        "exit_statuses",
        "The last seen egress of every template.",
    );
    o.with_query::<AuditQuery, Vec<HoldRecord>>(
        "get",
        "/v1/audit",
        "audit_log",
        "The guard's audit log, newest first (name: one template's).",
    );
    o.op::<Vec<PendingHold>>(
        "get",
        "/v1/holds",
        "pending_holds",
        "Holds of the API's sessions waiting for an answer.",
    );
    o.with_body::<DecideRequest, ()>(
        "post",
        "/v1/holds/{id}",
        "decide_hold",
        "Proceed or cancel a held request.",
        204,
    );
    o.op::<Option<TeamStatus>>(
        "get",
        "/v1/team",
        "team_status",
        "This home's team, or null.",
    );
    o.with_body::<ExportRequest, ExportSummary>(
        "post",
        "/v1/bundles/export",
        "export_bundle",
        "Writes a bundle to a path on this machine.",
        200,
    );
    o.with_body::<ImportRequest, ImportPlan>(
        "post",
        "/v1/bundles/import",
        "import_bundle",
        "Plans (dry_run) or imports a bundle from a path on this machine.",
        200,
    );
    let error = o.schema::<ErrorPayload>();

    let mut paths = Map::new();
    for op in &o.list {
        let mut parameters = Vec::new();
        for name in ["name", "id"] {
            if op.path.contains(&format!("{{{name}}}")) {
                let schema = if name == "id" {
                    json!({"type": "integer"})
                } else {
                    json!({"type": "string"})
                };
                parameters
                    .push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
            }
        }
        if let Some(q) = &op.query {
            let required: Vec<&str> = q["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (name, schema) in q["properties"].as_object().into_iter().flatten() {
                parameters.push(json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema}));
            }
        }
        let mut responses = Map::new();
        let ok = match &op.answer {
            Some(a) if op.status != 204 => {
                json!({"description": "done", "content": {"application/json": {"schema": a}}})
            }
            _ => json!({"description": "done"}),
        };
        responses.insert(op.status.to_string(), ok);
        for (status, why) in [
            ("400", "invalid input, named in field"),
            ("401", "no or wrong bearer token"),
            (
                "403",
                "foreign Host, a page's Origin, or refused by the team store",
            ),
            ("404", "no such template, hold or endpoint"),
            ("409", "already running, name taken, edit conflict"),
            ("413", "body over the limit"),
            ("422", "refused by the launch's preflight"),
            ("500", "failed"),
            ("502", "the exit or the team store did not answer"),
            ("503", "no browser or keyring"),
        ] {
            responses.insert(status.into(), json!({"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPayload"}}}}));
        }
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(b) = &op.body {
            operation["requestBody"] =
                json!({"required": false, "content": {"application/json": {"schema": b}}});
        }
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    let mut schemas = o.gen.take_definitions(true);
    if !schemas.contains_key("ErrorPayload") {
        schemas.insert("ErrorPayload".into(), error);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Holdfast local API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Per-account browser environments: start an account, get endpoints every automation client takes. Loopback only; every request needs Authorization: Bearer <token> (`holdfast api token`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    })
}
