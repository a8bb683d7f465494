//! The smallest complete integration: one kind, `greeting`, generated in pages.
//!
//! Run it against the local emulator (`cargo run -p port-emulator -- --port 5555` in another
//! terminal):
//!
//! ```text
//! OCEAN__PORT__BASE_URL=http://127.0.0.1:5555 \
//! OCEAN__PORT__CLIENT_ID=port-emulator-demo-client \
//! OCEAN__PORT__CLIENT_SECRET=port-emulator-demo-secret \
//! OCEAN__INTEGRATION__CONFIG__COUNT=2500 \
//! cargo run -p ocean --example hello -- --once
//! ```
//!
//! Without a `.port/resources` folder nothing is provisioned, so the mapping in Port starts
//! empty and the resync is a no-op until one is written there.

use ocean::prelude::*;

/// `integration.config`: how many greetings to generate, and how slowly (a pause before each
/// page after the first, to stand for a slow API).
#[derive(Deserialize)]
#[serde(default)]
struct HelloConfig {
    count: u64,
    page_size: u64,
    page_delay_ms: u64,
}

impl Default for HelloConfig {
    fn default() -> Self {
        HelloConfig {
            count: 100,
            page_size: 100,
            page_delay_ms: 0,
        }
    }
}

struct Hello {
    config: HelloConfig,
}

#[async_trait]
impl Integration for Hello {
    fn kinds(&self) -> Vec<String> {
        vec!["greeting".into()]
    }

    fn fetch(&self, _ctx: FetchContext) -> PageStream {
        let (count, page_size) = (self.config.count, self.config.page_size.max(1));
        let delay = std::time::Duration::from_millis(self.config.page_delay_ms);
        Box::pin(try_stream! {
            let mut next = 0;
            while next < count {
                if next > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let end = (next + page_size).min(count);
                let page: Page = (next..end)
                    .map(|i| json!({"id": format!("hello-{i}"), "text": format!("Hello #{i}")}))
                    .collect();
                next = end;
                yield page;
            }
        })
    }
}

fn main() -> std::process::ExitCode {
    ocean::run(
        ocean::manifest!("hello"),
        |config: HelloConfig| async move { Ok(Hello { config }) },
    )
}
