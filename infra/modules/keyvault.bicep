// Key Vault for the one app secret, QUANTUM_API_KEYS. RBAC authorization only (no access policies): the app's
// identity reads secrets through its Key Vault Secrets User role (rbac.bicep). The secret's value is never in
// Bicep; an operator sets it (infra/README.md):
//   az keyvault secret set --vault-name <AZURE_KEY_VAULT_NAME> --name quantum-api-keys --value '<key1>,<key2>'

@description('Required. Name of the vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for the vault.')
param tags object = {}

@description('Optional. Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

@description('Optional. Forbid purging a deleted vault or secret before its retention ends. Cannot be turned off once on.')
param purgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The API accepts true or absent, never false.
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // The app resolves its Key Vault reference over the public endpoint (no virtual network here).
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
