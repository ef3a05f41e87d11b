// libFuzzer entry point for the NDJSON record decoders. Built only with FERRY_FUZZ=1
// (`make fuzz`, Tests/Fuzz/README.md). The work is in RecordDecoderHarness.swift,
// a link to Tests/FerryTests/FuzzHarness/, which FuzzRegressionTests runs too.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    RecordDecoderHarness.run(Data(bytes: data, count: size))
    return 0
}
