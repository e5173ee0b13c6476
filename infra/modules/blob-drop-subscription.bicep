// The Event Grid subscription that delivers blob drops in the programs container to the intake_program blob
// trigger (source EventGrid). Deployed on its own, by the postdeploy hook in azure.yaml, not by main.bicep:
//
// - The webhook URL must carry the function app's blobs_extension system key. That key exists only once the
//   code is deployed and the host has started, and Event Grid validates the endpoint when the subscription is
//   created, which only succeeds when intake_program is running. So it cannot be part of the first provision.
// - The key is read here, inside the deployment, with listKeys() on the app's host: it never passes through
//   a shell, a parameter, the azd environment or a file, and it is not written into any template. This is
//   the only listKeys() in infra/ (tests/infra allows exactly this one).
// - Redeploying this module is idempotent; after the blobs_extension key is rotated, run the hook again
//   (`azd hooks run postdeploy`) so the subscription gets the new key.
//
// It runs at resource-group scope against resources main.bicep created, referenced by name.

@description('Required. Name of the function app that hosts intake_program.')
param functionAppName string

@description('Required. Name of the storage account\'s Event Grid system topic (main.bicep output BLOB_DROP_SYSTEM_TOPIC).')
param systemTopicName string

@description('Required. Container whose blob-created events go to intake_program (PROGRAMS_CONTAINER).')
param programsContainerName string

@description('Required. Name of the job data\'s storage account (JOBS_STORAGE_ACCOUNT_NAME), which also holds the dead-letter container.')
param storageAccountName string

@description('Required. Container for events Event Grid gives up delivering.')
param deadLetterContainerName string

@description('Required. Name of the user-assigned identity that writes dead-lettered events.')
param identityName string

@description('Optional. The function the events go to (its name in function_app.py).')
param functionName string = 'intake_program'

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource siteHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: site
  name: 'default'
}

resource blobDropTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource intakeSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: blobDropTopic
  name: 'intake-program'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${siteHost.listKeys().systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // The trailing /blobs/ keeps a container named, say, programs-old from matching.
      subjectBeginsWith: '/blobServices/default/containers/${programsContainerName}/blobs/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: identity.id
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = intakeSubscription.name
