//! A whole schema as one SQL script: the plan from an empty database
//! (`inspect --format sql`, and the matrix test's round trip).

use crate::catalog::model::SchemaDef;
use crate::catalog::{Inspected, Model, Scope};

/// DDL that recreates every managed object of `model`, in dependency order
/// (the same order the planner uses for an empty database).
pub fn from_empty(model: &Model) -> String {
    let mut empty = Inspected::default();
    empty.model.schemas.insert(
        "public".into(),
        SchemaDef {
            name: "public".into(),
            comment: None,
        },
    );
    empty.model.unmanaged = model.unmanaged.clone();
    let opts = super::PlanOptions {
        scope: Scope {
            with_privileges: true,
            with_owners: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = super::diff(&empty, model, &opts);
    let mut sql = String::from("SET check_function_bodies = off;\n\n");
    for step in &plan.steps {
        sql.push_str(&step.sql);
        sql.push_str("\n\n");
    }
    if !model.unmanaged.is_empty() {
        sql.push_str("-- not managed by pgalign yet (not recreated above):\n");
        for k in model.unmanaged.keys() {
            sql.push_str(&format!("--   {k}\n"));
        }
    }
    sql
}
