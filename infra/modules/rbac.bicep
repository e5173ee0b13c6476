// Everything the app's user-assigned identity may do, in one place. Each role is scoped to the one resource it
// is for, never to the resource group, and goes to the identity only.

@description('Required. Principal (object) ID of the app\'s user-assigned identity.')
param principalId string

@description('Required. Name of the Functions host\'s storage account (AzureWebJobsStorage, deployment package).')
param hostStorageAccountName string

@description('Required. Name of the job data\'s storage account (JobsStorage: drops and per-job containers).')
param jobStorageAccountName string

@description('Required. Name of the Service Bus namespace.')
param serviceBusNamespaceName string

@description('Required. Name of the Event Grid custom topic for job events.')
param eventGridTopicName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Name of the Key Vault.')
param keyVaultName string

@description('Required. Name of the Cosmos DB account.')
param cosmosAccountName string

@description('Required. Name of the Cosmos DB database the identity reads and writes.')
param cosmosDatabaseName string

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource jobStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: jobStorageAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource eventGridTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: eventGridTopicName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

var hostStorageRoleIds = [
  // Storage Blob Data Owner: the host's own blobs (keys, timer schedule state, singleton leases) and the Flex
  // deployment package. No SAS the app signs is for this account.
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor: the blob trigger writes blobs it fails to process to its poison queue
  // (webjobs-blobtrigger-poison) in the AzureWebJobsStorage account.
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor: the host writes its diagnostic events to a table in AzureWebJobsStorage
  // (without it: AZFD0003 "Unable to get table reference").
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

var serviceBusRoleIds = [
  // Azure Service Bus Data Receiver: the queue triggers (jobs-<provider>, simulator-runs, job-results).
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  // Azure Service Bus Data Sender: each pipeline step sends the next step's message.
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
]

var eventGridRoleIds = [
  // EventGrid Data Sender: publishing job events to the custom topic.
  'd5a91429-5739-47e2-a06b-3470a27159e7'
]

var applicationInsightsRoleIds = [
  // Monitoring Metrics Publisher: Entra-authenticated telemetry (the component's local auth is disabled).
  '3913510d-42f4-4e42-8a64-420c390055eb'
]

var keyVaultRoleIds = [
  // Key Vault Secrets User: resolving the QUANTUM_API_KEYS Key Vault reference.
  '4633458b-17de-408a-b874-0445c86b69e6'
]

var jobStorageRoleIds = [
  // Storage Blob Data Contributor: reading dropped programs, creating, writing and deleting per-job containers and
  // their blobs, and the user delegation key behind the app's SAS URLs (which can grant no more than this role).
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
]

resource hostStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in hostStorageRoleIds: {
    name: guid(hostStorage.id, principalId, roleId)
    scope: hostStorage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource jobStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in jobStorageRoleIds: {
    name: guid(jobStorage.id, principalId, roleId)
    scope: jobStorage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource serviceBusRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in serviceBusRoleIds: {
    name: guid(serviceBus.id, principalId, roleId)
    scope: serviceBus
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource eventGridRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in eventGridRoleIds: {
    name: guid(eventGridTopic.id, principalId, roleId)
    scope: eventGridTopic
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource applicationInsightsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in applicationInsightsRoleIds: {
    name: guid(applicationInsights.id, principalId, roleId)
    scope: applicationInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource keyVaultRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in keyVaultRoleIds: {
    name: guid(keyVault.id, principalId, roleId)
    scope: keyVault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Cosmos DB data plane: Cosmos DB Built-in Data Contributor (a Cosmos SQL role, not an Azure RBAC role),
// scoped to the job database. It reads and writes items; it cannot change the account or its containers.
var cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource cosmosDataRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, principalId, cosmosDataContributorRoleId)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
    principalId: principalId
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}
