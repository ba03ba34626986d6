package winevent

// Task category names of the two providers whose events spoor maps, by
// task number, for sources that carry only the number (EVTX, evtx_dump):
// NXLog and Winlogbeat give the name, and _subtype is the same whatever
// the source. The names are the providers' manifests' (as NXLog renders
// them in the OTRF data sets).
var sysmonTasks = map[int64]string{
	1:  "Process Create (rule: ProcessCreate)",
	2:  "File creation time changed (rule: FileCreateTime)",
	3:  "Network connection detected (rule: NetworkConnect)",
	4:  "Sysmon service state changed",
	5:  "Process terminated (rule: ProcessTerminate)",
	6:  "Driver loaded (rule: DriverLoad)",
	7:  "Image loaded (rule: ImageLoad)",
	8:  "CreateRemoteThread detected (rule: CreateRemoteThread)",
	9:  "RawAccessRead detected (rule: RawAccessRead)",
	10: "Process accessed (rule: ProcessAccess)",
	11: "File created (rule: FileCreate)",
	12: "Registry object added or deleted (rule: RegistryEvent)",
	13: "Registry value set (rule: RegistryEvent)",
	14: "Registry object renamed (rule: RegistryEvent)",
	15: "File stream created (rule: FileCreateStreamHash)",
	16: "Sysmon config state changed",
	17: "Pipe Created (rule: PipeEvent)",
	18: "Pipe Connected (rule: PipeEvent)",
	19: "WmiEventFilter activity detected (rule: WmiEvent)",
	20: "WmiEventConsumer activity detected (rule: WmiEvent)",
	21: "WmiEventConsumerToFilter activity detected (rule: WmiEvent)",
	22: "Dns query (rule: DnsQuery)",
	23: "File Delete archived (rule: FileDelete)",
	24: "Clipboard changed (rule: ClipboardChange)",
	25: "Process Tampering (rule: ProcessTampering)",
	26: "File Delete logged (rule: FileDeleteDetected)",
	27: "File Block Executable (rule: FileBlockExecutable)",
	28: "File Block Shredding (rule: FileBlockShredding)",
	29: "File Executable Detected (rule: FileExecutableDetected)",
}

var securityTasks = map[int64]string{
	12288: "Security State Change",
	12289: "Security System Extension",
	12290: "System Integrity",
	12291: "IPsec Driver",
	12292: "Other System Events",
	12544: "Logon",
	12545: "Logoff",
	12546: "Account Lockout",
	12547: "IPsec Main Mode",
	12548: "Special Logon",
	12551: "Other Logon/Logoff Events",
	12554: "Group Membership",
	12800: "File System",
	12801: "Registry",
	12802: "Kernel Object",
	12803: "SAM",
	12804: "Other Object Access Events",
	12805: "Certification Services",
	12806: "Application Generated",
	12807: "Handle Manipulation",
	12808: "File Share",
	12809: "Filtering Platform Packet Drop",
	12810: "Filtering Platform Connection",
	12811: "Detailed File Share",
	12812: "Removable Storage",
	13056: "Sensitive Privilege Use",
	13057: "Non Sensitive Privilege Use",
	13312: "Process Creation",
	13313: "Process Termination",
	13314: "DPAPI Activity",
	13315: "RPC Events",
	13316: "Plug and Play Events",
	13317: "Token Right Adjusted Events",
	13568: "Audit Policy Change",
	13569: "Authentication Policy Change",
	13570: "Authorization Policy Change",
	13824: "User Account Management",
	13825: "Computer Account Management",
	13826: "Security Group Management",
	13827: "Distribution Group Management",
	13828: "Application Group Management",
	13829: "Other Account Management Events",
	14080: "Directory Service Access",
	14081: "Directory Service Changes",
	14336: "Credential Validation",
	14337: "Kerberos Service Ticket Operations",
	14338: "Other Account Logon Events",
	14339: "Kerberos Authentication Service",
}

func taskName(provider string, task int64) string {
	switch provider {
	case provSysmon:
		return sysmonTasks[task]
	case "Microsoft-Windows-Security-Auditing":
		return securityTasks[task]
	}
	return ""
}
