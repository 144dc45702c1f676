; Inno Setup script: a Windows installer around the PyInstaller one-folder bundle.
;
; On Windows:
;   pip install ".[bundle]"
;   pyinstaller --noconfirm --distpath build\bundle --workpath build\pyinstaller installer\itsmdesk.spec
;   iscc installer\windows\itsmdesk.iss        (Inno Setup 6: https://jrsoftware.org/isinfo.php)
; gives build\installer\itsmdesk-0.1.0-setup.exe: per-user install (no administrator needed),
; Start menu entry, optional desktop icon, uninstaller.  Users' data stays in
; %LOCALAPPDATA%\itsmdesk (the uninstaller leaves it).

#define AppName "itsmdesk"
#define AppVersion "0.1.0"
#define Bundle "..\..\build\bundle\itsmdesk"

[Setup]
AppId={{6C0F5A7E-2F44-4E0B-9D7B-1B1E5F0A7C31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=itsmdesk developers
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\build\installer
OutputBaseFilename={#AppName}-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
UninstallDisplayIcon={app}\itsmdesk.exe

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "swedish"; MessagesFile: "compiler:Languages\Swedish.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\itsmdesk.exe"
Name: "{group}\{#AppName} (demo data)"; Filename: "{app}\itsmdesk.exe"; Parameters: "--demo"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\itsmdesk.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\itsmdesk.exe"; Parameters: "--demo"; Description: "{cm:LaunchProgram,{#AppName}} (demo data)"; Flags: nowait postinstall skipifsilent
