// Service Bus Standard: a jobs-<provider> queue per provider in shared/domain/catalog.json, plus the pipeline's
// simulator-runs and job-results queues (shared/domain/messages.py). Entra ID only: no SAS rules are declared
// and local (SAS) authentication is disabled.

@description('Required. Name of the namespace.')
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for the namespace.')
param tags object = {}

@description('Required. Provider ids from shared/domain/catalog.json; each gets the queue jobs-<id>.')
param providerIds array

@description('Optional. How long an unprocessed message lives before it expires to the dead-letter queue (ISO 8601).')
param messageTimeToLive string = 'P14D'

// The pipeline's own queues: shared.domain.messages.SIMULATOR_QUEUE and JOB_RESULTS_QUEUE.
var pipelineQueueNames = [
  'simulator-runs'
  'job-results'
]
var providerQueueNames = [for providerId in providerIds: 'jobs-${providerId}']
var queueNames = concat(providerQueueNames, pipelineQueueNames)

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// The local host's embedded queue mirrors these values (QUEUE_LOCK_SECONDS, QUEUE_MAX_DELIVERY_COUNT,
// QUEUE_DUPLICATE_WINDOW_SECONDS in shared/config.py); tests/infra checks that they agree.
resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [
  for queueName in queueNames: {
    parent: namespace
    name: queueName
    properties: {
      // The host renews the lock while a function runs (host.json maxAutoLockRenewalDuration).
      lockDuration: 'PT1M'
      // Then the message is dead-lettered; function_app's redrive_<queue> trigger on the dead-letter subqueue
      // re-drives or fails its job at once (the sweep's deadlines are the backstop).
      maxDeliveryCount: 10
      // MessageId is job id, command and attempt (shared/domain/messages.py): a repeated send is dropped.
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT10M'
      deadLetteringOnMessageExpiration: true
      defaultMessageTimeToLive: messageTimeToLive
      enableBatchedOperations: true
      maxSizeInMegabytes: 1024
    }
  }
]

output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
