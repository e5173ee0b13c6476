// The app's one user-assigned identity. Every connection the app makes (storage, Service Bus, Cosmos DB, Event
// Grid, Key Vault, Application Insights) authenticates as this identity; rbac.bicep grants it its roles.

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
