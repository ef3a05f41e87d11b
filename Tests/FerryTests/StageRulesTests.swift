import FerryCore
@testable import FerryStages
import Foundation
import Testing

/// The pure rules inside the stages: cleaning (dedupe), custom field keys
/// (map) and the seeded demo sample (extract --demo).
@Suite struct StageRulesTests {

    // MARK: Cleaning

    @Test func emailsAreTrimmedAndLowerCased() {
        #expect(Cleaning.normalizeEmail("  Dana.Cohen@Example.COM \n") == "dana.cohen@example.com")
        #expect(Cleaning.normalizeEmail("\tx@y.io") == "x@y.io")
        #expect(Cleaning.normalizeEmail("already@fine.org") == "already@fine.org")
        #expect(Cleaning.normalizeEmail("ÜBER@Straße.DE") == "über@straße.de")
        #expect(Cleaning.normalizeEmail("   ") == nil)
        #expect(Cleaning.normalizeEmail("") == nil)
        #expect(Cleaning.normalizeEmail(nil) == nil)
    }

    @Test(arguments: [
        "a@b.co", "dana@example.com", "first.last+tag@sub.example.org", "o'brien@example.ie",
        "user_name-1@example-domain.com", "x@xn--bcher-kva.example", "UPPER@EXAMPLE.COM",
    ])
    func plausibleEmailsAreAccepted(email: String) {
        #expect(Cleaning.isValidEmail(email), "\(email)")
    }

    @Test(arguments: [
        "", "plainaddress", "@example.com", "dana@", "dana@example", "dana@.example.com", "dana@example.com.",
        "dana@example..com", "dana@@example.com", "a@b@example.com", "dana cohen@example.com", "dana@exa mple.com",
        " dana@example.com", "dana@example.com, eve@example.com", "dana@example.com;eve@example.com",
        "Dana <dana@example.com>", "dana@example.com\n",
    ])
    func implausibleEmailsAreRefused(email: String) {
        #expect(!Cleaning.isValidEmail(email), "\(email.debugDescription)")
    }

    @Test(arguments: [
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+44 20 7946 0958", "+442079460958"),
        ("415.555.0100", "4155550100"),
        ("  030/1234-5678 ", "03012345678"),
        ("1234", "1234"),
        ("+123456789012345", "+123456789012345"),
    ])
    func phonesAreNormalized(raw: String, expected: String) {
        #expect(Cleaning.normalizePhone(raw) == expected, "\(raw)")
    }

    @Test(arguments: [
        "", "   ", "12", "123", "+1 23", "555-CALL-NOW", "call me", "+1 415 555 0100 ext 12", "1+4155550100",
        "1234567890123456", "+1 (415) 555-0100 #2", "４１５５５５０１００",
    ])
    func implausiblePhonesAreLeftAlone(raw: String) {
        #expect(Cleaning.normalizePhone(raw) == nil, "\(raw.debugDescription) gave \(Cleaning.normalizePhone(raw) ?? "nil")")
    }

    @Test func namesCompareWithoutCaseOrSpacing() {
        #expect(Cleaning.normalizeName("  ACME   corp ") == "acme corp")
        #expect(Cleaning.normalizeName("Acme Corp") == "acme corp")
        #expect(Cleaning.normalizeName("Acme\tCorp\n") == "acme corp")
        #expect(Cleaning.normalizeName("Ācme  GmbH") == "ācme gmbh")
        #expect(Cleaning.normalizeName("") == "")
        #expect(Cleaning.normalizeName("Acme Corp") != Cleaning.normalizeName("Acme Corp Ltd"))
        #expect(Cleaning.normalizeDomain("  Acme.EXAMPLE ") == "acme.example")
        #expect(Cleaning.normalizeDomain(" ") == nil)
    }

    // MARK: Custom field keys

    @Test(arguments: [
        ("Order number", "order_number"),
        ("Affected modules (beta)!", "affected_modules_beta"),
        ("  Lead   Source  ", "lead_source"),
        ("Plan-2 / Tier", "plan_2_tier"),
        ("VIP", "vip"),
        ("already_snake", "already_snake"),
        ("__under__", "under"),
        ("Größe", "größe"),
        ("注文番号", "注文番号"),
        ("Numéro de commande", "numéro_de_commande"),
        ("!!!", "field"),
        ("", "field"),
    ])
    func fieldTitlesBecomeKeys(title: String, key: String) {
        #expect(MapPlan.slug(title) == key, "\(title)")
    }

    // MARK: Demo sample

    static func sample(size: Int, seed: UInt64, items: Int) -> [String] {
        var reservoir = Reservoir(size: size, seed: seed)
        for i in 0..<items { reservoir.offer("item-\(i)") }
        return reservoir.items
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        var zero = SplitMix64(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
        #expect(zero.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(zero.next() == 0x06C4_5D18_8009_454F)
        var other = SplitMix64(seed: 1_234_567)
        #expect(other.next() == 6_457_827_717_110_365_317)
    }

    @Test func sameSeedGivesTheSameSample() {
        for seed: UInt64 in [0, 1, 42, .max] {
            let a = Self.sample(size: 5, seed: seed, items: 1000)
            let b = Self.sample(size: 5, seed: seed, items: 1000)
            #expect(a == b, "seed \(seed)")
        }
        #expect(Self.sample(size: 3, seed: 42, items: 10) == ["item-5", "item-4", "item-7"], "the sample for a seed does not drift between versions")
    }

    @Test func differentSeedsUsuallyGiveDifferentSamples() {
        let samples = (0..<20).map { Self.sample(size: 5, seed: UInt64($0), items: 1000) }
        #expect(Set(samples.map { $0.sorted() }).count >= 18)
    }

    @Test func sampleSizeIsRespected() {
        #expect(Self.sample(size: 10, seed: 7, items: 1000).count == 10)
        let all = Self.sample(size: 10, seed: 7, items: 4)
        #expect(all == ["item-0", "item-1", "item-2", "item-3"], "fewer items than the size: all of them, in order")
        #expect(Self.sample(size: 0, seed: 7, items: 100).isEmpty)
        #expect(Self.sample(size: 3, seed: 7, items: 0).isEmpty)
        let sample = Self.sample(size: 50, seed: 99, items: 500)
        #expect(Set(sample).count == 50, "no item chosen twice")
        #expect(sample.allSatisfy { Int($0.dropFirst(5))! < 500 })
    }

    @Test func everyItemCanBeChosenAndNoneIsFavoured() {
        var chosen: [String: Int] = [:]
        let seeds = 2000
        for seed in 0..<seeds {
            for item in Self.sample(size: 3, seed: UInt64(seed), items: 10) { chosen[item, default: 0] += 1 }
        }
        #expect(chosen.keys.sorted() == (0..<10).map { "item-\($0)" }.sorted(), "each of the 10 items appears")
        // Uniform sampling picks each item 3/10 of the time: 600 of 2000; allow a wide margin.
        for (item, count) in chosen {
            #expect((450...750).contains(count), "\(item) chosen \(count) times of \(seeds)")
        }
        // The last item offered is as likely as the first (an off-by-one would starve it).
        #expect(chosen["item-9", default: 0] > 450)
    }
}
