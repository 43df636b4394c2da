//! `gatekey token`: print a valid access token, renewing it first when it is due.

use gatekey_client::ExposeSecret;

use super::ConnectionArgs;

pub async fn run(args: ConnectionArgs) -> anyhow::Result<()> {
    let client = args.client()?;
    let token = client.access_token().await?;
    println!("{}", token.expose_secret());
    Ok(())
}
