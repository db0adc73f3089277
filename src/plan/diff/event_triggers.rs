//! Event triggers. They run a function on DDL anywhere in the database, so the
//! plan drops or disables them first (its own DDL does not fire them) and
//! creates or enables them last, with their comment and owner. A change of
//! event, tags or function (or a function the plan drops and creates again)
//! drops and creates the trigger; its state changes with `ALTER EVENT TRIGGER`.

use super::*;
use crate::catalog::kinds::{self, EventTrigger};

/// The key of an event trigger in `Model::owners`.
pub fn owner_key(name: &str) -> String {
    format!("EVENT TRIGGER {}", quote_ident(name))
}

fn describe(e: &EventTrigger) -> String {
    let tags = if e.tags.is_empty() {
        String::new()
    } else {
        format!(" ({})", e.tags.join(", "))
    };
    format!("{}{tags}", e.event)
}

impl Builder<'_> {
    /// True when live event trigger `have` must be dropped and created again
    /// to become `want`.
    fn event_trigger_recreated(&self, have: &EventTrigger, want: &EventTrigger) -> bool {
        have.event != want.event
            || have.tags != want.tags
            || have.function != want.function
            || self.deps.functions.contains(&have.function)
    }

    pub(super) fn event_triggers(&mut self) {
        let live = &self.live.model.event_triggers;
        let q = |n: &str| quote_ident(n);
        for (name, have) in live {
            let title_name = q(name);
            match self.desired.event_triggers.get(name) {
                None => self.destructive(
                    Phase::DropEventTrigger,
                    format!("drop event trigger {name}"),
                    format!("DROP EVENT TRIGGER {title_name};"),
                    vec![h(
                        HazardId::Authz,
                        Severity::Warning,
                        format!(
                            "what event trigger {name} enforces or records on {} stops",
                            describe(have)
                        ),
                    )],
                ),
                Some(want) if self.event_trigger_recreated(have, want) => self.push(
                    Phase::DropEventTrigger,
                    format!("drop event trigger {name} (created again at the end)"),
                    format!("DROP EVENT TRIGGER {title_name};"),
                    vec![h(
                        HazardId::Authz,
                        Severity::Warning,
                        format!(
                            "event trigger {name} does not run while this plan runs; DDL of other sessions meanwhile escapes it"
                        ),
                    )],
                ),
                Some(want) if want.enabled == "D" && have.enabled != "D" => self.push(
                    Phase::DropEventTrigger,
                    format!("disable event trigger {name}"),
                    kinds::event_trigger_state(want),
                    vec![h(
                        HazardId::Authz,
                        Severity::Warning,
                        format!(
                            "event trigger {name} is disabled: what it enforces or records on {} no longer happens",
                            describe(have)
                        ),
                    )],
                ),
                Some(_) => {}
            }
        }
        for (name, want) in &self.desired.event_triggers {
            let have = live.get(name);
            let fresh = have.is_none_or(|o| self.event_trigger_recreated(o, want));
            if fresh {
                self.push(
                    Phase::EventTrigger,
                    format!("create event trigger {name}"),
                    kinds::create_event_trigger(want),
                    vec![
                        h(
                            HazardId::Authz,
                            Severity::Warning,
                            format!(
                                "event trigger {name} runs {} on every {} in the whole database, whoever runs it: it can record, change or refuse DDL; creating it needs a superuser",
                                want.function,
                                describe(want)
                            ),
                        ),
                        h(
                            HazardId::Ops,
                            Severity::Info,
                            format!(
                                "every later matching DDL statement (including later migrations) runs {}, and fails if it fails",
                                want.function
                            ),
                        ),
                    ],
                );
            }
            let state_was = if fresh {
                "O"
            } else {
                have.map(|o| o.enabled.as_str()).unwrap_or("O")
            };
            // Disabling an existing trigger happened at the start.
            let disabled_early = !fresh && want.enabled == "D";
            if state_was != want.enabled && !disabled_early {
                self.push(
                    Phase::EventTrigger,
                    format!("set state of event trigger {name}"),
                    kinds::event_trigger_state(want),
                    vec![h(
                        HazardId::Authz,
                        Severity::Warning,
                        if want.enabled == "D" {
                            format!("event trigger {name} is disabled: what it enforces or records no longer happens")
                        } else {
                            format!(
                                "event trigger {name} runs {} on {}{}",
                                want.function,
                                describe(want),
                                match want.enabled.as_str() {
                                    "R" => " in sessions replicating (session_replication_role = replica) only",
                                    "A" => " in every session, replicas' included",
                                    _ => "",
                                }
                            )
                        },
                    )],
                );
            }
            let comment_was = have.filter(|_| !fresh).and_then(|o| o.comment.as_deref());
            if comment_was != want.comment.as_deref() {
                let target = format!("EVENT TRIGGER {}", q(name));
                self.push(
                    if fresh {
                        Phase::EventTrigger
                    } else {
                        Phase::Comment
                    },
                    format!("comment on event trigger {name}"),
                    ddl::comment_on(&target, want.comment.as_deref()),
                    vec![],
                );
            }
            let key = owner_key(name);
            if let Some(owner) = self.desired.owners.get(&key) {
                let owner_was = if fresh {
                    Some(&self.live.current_user)
                } else {
                    self.live.model.owners.get(&key)
                };
                if owner_was != Some(owner) {
                    self.push(
                        Phase::EventTrigger,
                        format!("set owner of event trigger {name} to {owner}"),
                        format!("ALTER EVENT TRIGGER {} OWNER TO {owner};", q(name)),
                        vec![h(
                            HazardId::Authz,
                            Severity::Warning,
                            format!("{owner} becomes the owner of event trigger {name} (it must be a superuser)"),
                        )],
                    );
                }
            }
        }
    }
}
