// Package winevent reads Windows event logs (Security, Sysmon and any other
// channel) into spoor events, from EVTX files and from the JSON shapes
// Windows events are exported in.
//
// Convert is a parse.Converter for one JSON record in any of three shapes,
// detected per record (Looks says whether a record is one of them):
//
//   - NXLog/OTRF JSON lines: one flat object, System fields under NXLog's
//     names (EventID, Channel, Hostname, SourceName, RecordNumber,
//     EventTime, ...) beside the EventData members;
//   - evtx_dump JSON: {"Event":{"System":{..},"EventData":{..}}};
//   - Winlogbeat: {"@timestamp":..,"winlog":{"event_id","channel",
//     "record_id","computer_name","event_data":{..},..},"message":..}.
//
// Decoder is a parse.Decoder for EVTX files, read as a stream one 64 KiB
// chunk at a time by this package's own bounded reader of the chunks'
// binary XML (binxml.go); DetectEVTX recognises them by their magic. The
// two EVTX libraries in go.mod were tried: 0xrawsec/golang-evtx does not
// build here (its dependency golang-utils is missing from go.sum) and
// velocidex/evtx is correct on the real files but not safe on hostile
// ones (an argument count of 2^32 in a template instance allocates
// without bound, and it loses the HexInt and FILETIME types evtx_dump
// shows). velocidex/evtx stays, in the tests only, as an independent
// record count and the benchmark baseline.
//
// Whatever the source, an event gets one representation: event_time from
// the record's TimeCreated (NXLog's zone-less EventTime is put in UTC with
// the collector's offset, @timestamp - EventReceivedTime); event_type
// "sysmon", "winsec" (Security) or "windows"; win_event_id, channel,
// record_number, hostname, summary (the first line of Message) and
// _subtype (the task category text) when the source has them; the typed
// process, user, network and path fields of the common Sysmon and
// Security events; and _id from the host, channel and record number, so a
// record read from an EVTX file and from a JSON export is stored once.
// Raw is one flat JSON object: every EventData (or UserData) member under
// its original name, then the System fields under NXLog-like names
// (EventID, Channel, Computer, Provider, ProviderGuid, EventRecordID,
// TimeCreated, Level, Task, Opcode, Keywords, Version, ExecutionProcessID,
// ExecutionThreadID, UserID, ActivityID, Message); EventData wins a name
// clash. An NXLog line is already flat and is kept as it is.
package winevent
