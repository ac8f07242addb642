use ichido_crypto::Sealed;

use super::Ichido;
use crate::error::Error;
use crate::store::Store;
use crate::token::Token;

impl<S: Store> Ichido<S> {
    /// Re-seals every stored seed under the keyring's current key. Safe to run
    /// again after an interruption: rows already re-sealed are re-sealed anew.
    pub async fn reseal_all(&self) -> Result<usize, Error> {
        let mut n = 0;
        for row in self.store.sealed_secrets().await? {
            let sealed = Sealed::from_text(&row.sealed_secret).map_err(|_| Error::Unseal)?;
            let serial = crate::ids::Serial::parse(&row.serial)?;
            let aad = Token::secret_aad(&serial);
            let plain = self
                .keyring
                .open(&sealed, &aad)
                .map_err(|_| Error::Unseal)?;
            let resealed = self.keyring.seal(plain.as_bytes(), &aad).to_text();
            if self
                .store
                .reseal(row.token_id, &row.sealed_secret, &resealed)
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}
