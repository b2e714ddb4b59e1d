//! The registry docs in `docs/` are held to the schema: each page's generated section (between
//! the BEGIN/END GENERATED SCHEMA markers) must equal what the declarations in `src/` render
//! today, so an attribute undocumented, documented but gone, or described differently fails
//! here. The prose and examples around the sections are written by hand.
//!
//! To regenerate the sections after changing a declaration:
//!
//! ```text
//! TFWS_UPDATE_DOCS=1 cargo test --test docs
//! ```

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use tfws::framework::docs;
use tfws::provider::WorkspaceProvider;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

fn updating() -> bool {
    std::env::var("TFWS_UPDATE_DOCS").is_ok_and(|v| v == "1")
}

#[test]
fn every_generated_section_matches_the_declarations() {
    let provider = WorkspaceProvider::default();
    let mut problems = Vec::new();
    for section in docs::sections(&provider) {
        let path = docs_dir().join(&section.page);
        let Ok(page) = fs::read_to_string(&path) else {
            problems.push(format!("docs/{} is missing", section.page));
            continue;
        };
        match docs::current(&page) {
            None => problems.push(format!(
                "docs/{} has no generated section: add the two marker lines\n{}\n{}",
                section.page,
                docs::BEGIN,
                docs::END
            )),
            Some(current) if current == section.markdown => {}
            Some(current) => {
                if updating() {
                    let new_page = docs::splice(&page, &section.markdown).unwrap_or(page);
                    if let Err(e) = fs::write(&path, new_page) {
                        problems.push(format!("cannot write docs/{}: {e}", section.page));
                    }
                } else {
                    problems.push(format!(
                        "docs/{} differs from the declarations.\n--- committed\n{current}\n--- \
                         declared\n{}",
                        section.page, section.markdown
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nRegenerate with: TFWS_UPDATE_DOCS=1 cargo test --test docs",
        problems.join("\n\n")
    );
}

#[test]
fn every_page_documents_something_that_exists() {
    let provider = WorkspaceProvider::default();
    let expected: BTreeSet<String> = docs::sections(&provider)
        .into_iter()
        .map(|section| section.page)
        .collect();
    let mut found = BTreeSet::new();
    for folder in ["", "resources", "data-sources", "actions"] {
        let Ok(entries) = fs::read_dir(docs_dir().join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") {
                found.insert(if folder.is_empty() {
                    name
                } else {
                    format!("{folder}/{name}")
                });
            }
        }
    }
    assert_eq!(
        found, expected,
        "a page without an object, or an object without a page"
    );
}

#[test]
fn the_check_fails_on_a_changed_description() {
    // The same comparison as above, on a page whose section was edited by hand.
    let provider = WorkspaceProvider::default();
    let Some(section) = docs::sections(&provider)
        .into_iter()
        .find(|s| s.page == "resources/app_server_reboot.md")
    else {
        panic!("the reboot resource has a page");
    };
    let page = format!(
        "# x\n\n{}\n{}{}\n",
        docs::BEGIN,
        section.markdown,
        docs::END
    );
    assert_eq!(docs::current(&page), Some(section.markdown.as_str()));
    let edited = page.replace("at least one", "at least two");
    assert_ne!(edited, page, "the section mentions `server_ids`' rule");
    assert_ne!(docs::current(&edited), Some(section.markdown.as_str()));
    let dropped = page.replace("- `wait_for_ready`", "- `wait_for_it`");
    assert_ne!(docs::current(&dropped), Some(section.markdown.as_str()));
}
