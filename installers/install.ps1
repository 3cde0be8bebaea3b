# Install (or uninstall) Revoice on Windows: finds a Python 3.11+ and runs revoice_install.py.
#
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1              # install for this user
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1 --dry-run    # print paths and actions only
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1 uninstall    # remove what the install placed
#
# $env:REVOICE_PYTHON picks the Python; every option is revoice_install.py's (--help).
$ErrorActionPreference = 'Stop'
$installer = Join-Path $PSScriptRoot 'revoice_install.py'
$versionCheck = 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'

function Test-NewEnough([string[]] $Command) {
    # Windows PowerShell 5.1 turns a redirected native stderr line into an error: never stop on it here
    $ErrorActionPreference = 'Continue'
    $exe = $Command[0]
    $rest = @($Command | Select-Object -Skip 1)
    if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { return $false }
    try {
        & $exe @rest -c $versionCheck 2>$null | Out-Null
        return ($LASTEXITCODE -eq 0)
    } catch {
        return $false
    }
}

$python = $null
if ($env:REVOICE_PYTHON) {
    if (-not (Test-NewEnough @($env:REVOICE_PYTHON))) {
        [Console]::Error.WriteLine("error: REVOICE_PYTHON=$($env:REVOICE_PYTHON) is not a Python 3.11 or newer")
        exit 2
    }
    $python = [string[]]@($env:REVOICE_PYTHON)
} else {
    # the py launcher first (python.org installs), then python / python3 on PATH (not the Store alias stub)
    foreach ($candidate in @(@('py', '-3'), @('python'), @('python3'))) {
        if (Test-NewEnough $candidate) { $python = [string[]]$candidate; break }
    }
}
if (-not $python) {
    [Console]::Error.WriteLine('error: Revoice needs Python 3.11 or newer and none was found.')
    [Console]::Error.WriteLine('  Install it from https://www.python.org/downloads/windows/ (tick "Add python.exe to PATH"),')
    [Console]::Error.WriteLine('  then run this again, or set $env:REVOICE_PYTHON to its python.exe.')
    exit 2
}
$ErrorActionPreference = 'Continue'  # pip's warnings on stderr are not failures; the exit code says
$exe = $python[0]
$launcherArgs = @($python | Select-Object -Skip 1)
& $exe @launcherArgs $installer @args
exit $LASTEXITCODE
