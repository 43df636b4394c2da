//! `gatekey logout`: revoke the tokens at the server, then forget them.

use super::saved::Logins;
use super::ConnectionArgs;

pub async fn run(args: ConnectionArgs) -> anyhow::Result<()> {
    let client = args.client()?;
    client.logout().await?;
    let server = client.options().server().to_owned();
    let logins = Logins::load()?;
    if logins.find(Some(&server)).is_some() {
        logins.forget(&server)?;
    }
    eprintln!("Logged out of {server}: the tokens are revoked.");
    Ok(())
}
