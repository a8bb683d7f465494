//! Every folder under `integrations/` holds what an integration needs (see `xtask::layout`).

use xtask::{Workspace, layout};

#[test]
fn every_integration_folder_is_complete() {
    let ws = Workspace::locate();
    let names = ws.integrations().unwrap();
    assert!(names.contains(&"fake".to_owned()), "{names:?}");
    let problems = layout::check_all(&ws).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
