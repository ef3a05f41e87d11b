// libFuzzer entry point. Built only with FERRY_FUZZ=1 (`make fuzz`, Tests/Fuzz/README.md).
// The work is in BundleReaderHarness.swift, a link to Tests/FerryTests/FuzzHarness/,
// which FuzzRegressionTests runs too, so a crash found here stays a regression test.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    BundleReaderHarness.run(Data(bytes: data, count: size))
    return 0
}

// SwiftPM links an executable target with `main` aliased to `FuzzBundleReader_main` (the
// module's renamed entry point, so tests can link the target), which keeps libFuzzer's
// own `main` out of the link. This is that entry point: it runs libFuzzer's driver, as
// libFuzzer's `main` would. Were SwiftPM to stop renaming, libFuzzer's `main` would be
// linked instead and this function would go unused.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzBundleReader_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzz)
}
