// The quantum job service on Azure: a Python function app on Flex Consumption, with Service Bus, Cosmos DB,
// Storage, Event Grid, Key Vault and Application Insights, every connection by one user-assigned identity.
// `azd up` deploys it (azure.yaml); infra/README.md explains the parameters, the API-key secret and the
// blob-drop subscription that the postdeploy hook adds (modules/blob-drop-subscription.bicep).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Required. Name of the azd environment: the resource group is rg-<name>, and it seeds resource names.')
param environmentName string

@minLength(1)
@description('Required. Azure region for every resource; it must offer the Flex Consumption plan.')
param location string

@description('Optional. The Quantum workspace name the API answers to ({workspaceName} in its routes).')
param workspaceName string = environmentName

@description('Optional. Highest number of function app instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 10

@description('Optional. Memory of each function app instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Optional. Spread the function app, storage (ZRS) and Cosmos DB across availability zones. Cosmos DB fixes it at account creation.')
param zoneRedundant bool = false

@description('Optional. Days deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteRetentionInDays int = 7

@description('Optional. Cosmos DB backup: Periodic, or continuous point-in-time restore for 7 or 30 days.')
@allowed([
  'Periodic'
  'Continuous7Days'
  'Continuous30Days'
])
param cosmosBackup string = 'Periodic'

@description('Optional. Key Vault purge protection. Once on, it cannot be turned off and the vault name stays taken until its retention ends.')
param keyVaultPurgeProtection bool = false

@description('Optional. Days a deleted Key Vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 7

@description('Optional. Object ID of a user or group who may submit and change jobs with a Microsoft Entra ID token (azd sets the deploying user). Others in the tenant need ENTRA_CONTRIBUTORS or ENTRA_READERS.')
param principalId string = ''

@description('Optional. NCRONTAB schedule (six fields) of the stuck-job sweep, SWEEP_SCHEDULE.')
param sweepSchedule string = '0 */5 * * * *'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// The providers in shared/domain/catalog.json: each gets a jobs-<provider> queue. tests/infra fails when this
// list and the catalog disagree.
var providerIds = [
  'ionq'
  'quantinuum'
  'rigetti'
  'microsoft-qc'
  'microsoft.test.firstparty'
  'pasqal'
]

var functionAppName = '${abbrs.functionApp}${resourceToken}'
var programsContainerName = 'programs'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'blob-drop-deadletter'
var cosmosDatabaseName = 'quantum'
var cosmosContainerName = 'jobs'
var cosmosSessionsContainerName = 'sessions'
// shared.adapters.cosmos_jobs.PARTITION_KEY_PATH: jobs and sessions are read and written by id.
var cosmosPartitionKeyPath = '/id'
// The vault secret behind QUANTUM_API_KEYS, set out of band (infra/README.md).
var apiKeysSecretName = 'quantum-api-keys'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentity}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    applicationInsightsName: '${abbrs.appInsights}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    hostaccount: '${abbrs.storage}${resourceToken}'
    jobsaccount: '${abbrs.storage}jobs${resourceToken}'
    location: location
    tags: tags
    skuName: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'
    programsContainerName: programsContainerName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    systemTopicName: '${abbrs.eventGridSystemTopic}${resourceToken}'
    identityId: identity.outputs.id
    softDeleteRetentionInDays: blobSoftDeleteRetentionInDays
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBus}${resourceToken}'
    location: location
    tags: tags
    providerIds: providerIds
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: '${abbrs.cosmosAccount}${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    containerNames: [
      cosmosContainerName
      cosmosSessionsContainerName
    ]
    partitionKeyPath: cosmosPartitionKeyPath
    zoneRedundant: zoneRedundant
    backup: cosmosBackup
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: '${abbrs.eventGridTopic}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVault}${resourceToken}'
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    purgeProtection: keyVaultPurgeProtection
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageAccountName: storage.outputs.hostaccount
    jobStorageAccountName: storage.outputs.jobsaccount
    serviceBusNamespaceName: serviceBus.outputs.name
    eventGridTopicName: eventGrid.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmosDatabaseName
  }
}

// Every app setting. Names are shared/config.py Settings aliases, or host settings that tests/infra lists.
// No keys or connection strings: each connection is an endpoint plus the identity.
var appSettings = {
  // Host storage (AzureWebJobsStorage) by identity; queues and tables are the blob trigger's poison queue and
  // the host's diagnostic events.
  AzureWebJobsStorage__blobServiceUri: storage.outputs.hostBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.hostQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.hostTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // Job data (program drops, per-job containers) in an account of its own: the blob trigger's connection, and
  // the account the app signs clients' SAS URLs for. No SAS can reach the host's account above.
  JobsStorage__blobServiceUri: storage.outputs.jobsBlobEndpoint
  JobsStorage__credential: 'managedidentity'
  JobsStorage__clientId: identity.outputs.clientId
  // The queue triggers' connection.
  ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.outputs.clientId
  // The SDK clients (shared/bootstrap.py) sign in as this identity.
  AZURE_CLIENT_ID: identity.outputs.clientId
  CosmosDBConnection__accountEndpoint: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmosDatabaseName
  COSMOS_CONTAINER: cosmosContainerName
  COSMOS_SESSIONS_CONTAINER: cosmosSessionsContainerName
  EVENTGRID_TOPIC_ENDPOINT: eventGrid.outputs.endpoint
  // The connection string only locates the component; with its local auth disabled, telemetry is accepted
  // only with the identity's Entra token, per the authentication string. Allowed by tests/infra.
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // The workspace this deployment serves.
  QUANTUM_SUBSCRIPTION_ID: subscription().subscriptionId
  QUANTUM_RESOURCE_GROUP: rg.name
  QUANTUM_WORKSPACE: workspaceName
  // Resolved by the platform with the identity (keyVaultReferenceIdentity); the value lives only in the vault.
  QUANTUM_API_KEYS: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${apiKeysSecretName})'
  // Microsoft Entra ID bearer tokens from this tenant are accepted beside the keys (the SDK's default credential).
  ENTRA_TENANT_ID: tenant().tenantId
  ENTRA_CONTRIBUTORS: principalId
  PROGRAMS_CONTAINER: programsContainerName
  SWEEP_SCHEDULE: sweepSchedule
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.plan}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: '${storage.outputs.hostBlobEndpoint}${deploymentContainerName}'
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    zoneRedundant: zoneRedundant
    appSettings: appSettings
  }
  // The host starts with its roles in place (deployment package, host storage, Key Vault reference).
  dependsOn: [
    rbac
  ]
}

// azd stores these in the environment; the postdeploy hook reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_IDENTITY_NAME string = identity.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.hostaccount
output JOBS_STORAGE_ACCOUNT_NAME string = storage.outputs.jobsaccount
output API_KEYS_SECRET_NAME string = apiKeysSecretName
output BLOB_DROP_SYSTEM_TOPIC string = storage.outputs.systemTopicName
output BLOB_DROP_DEADLETTER_CONTAINER string = deadLetterContainerName
output PROGRAMS_CONTAINER string = programsContainerName
output API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}/api/'
