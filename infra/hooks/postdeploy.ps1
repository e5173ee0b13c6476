# azd postdeploy hook on Windows: the same deployment as postdeploy.sh (read that file for why).
$ErrorActionPreference = 'Stop'

if (-not $env:AZURE_RESOURCE_GROUP) { throw 'AZURE_RESOURCE_GROUP is not set: run azd provision first' }

for ($attempt = 1; ; $attempt++) {
  az deployment group create `
    --subscription "$env:AZURE_SUBSCRIPTION_ID" `
    --resource-group "$env:AZURE_RESOURCE_GROUP" `
    --name blob-drop-subscription `
    --template-file infra/modules/blob-drop-subscription.bicep `
    --parameters `
      functionAppName="$env:AZURE_FUNCTION_APP_NAME" `
      systemTopicName="$env:BLOB_DROP_SYSTEM_TOPIC" `
      programsContainerName="$env:PROGRAMS_CONTAINER" `
      storageAccountName="$env:JOBS_STORAGE_ACCOUNT_NAME" `
      deadLetterContainerName="$env:BLOB_DROP_DEADLETTER_CONTAINER" `
      identityName="$env:AZURE_IDENTITY_NAME" `
    --output none
  if ($LASTEXITCODE -eq 0) { break }
  if ($attempt -ge 5) { throw "the blob-drop subscription failed $attempt times; see the deployment error above" }
  Write-Host "postdeploy: retrying the blob-drop subscription in 30 s (attempt $($attempt + 1) of 5)"
  Start-Sleep -Seconds 30
}
Write-Host "postdeploy: blob drops in '$env:PROGRAMS_CONTAINER' go to intake_program"
