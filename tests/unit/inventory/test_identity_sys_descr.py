"""The version, model and serial vendors write in sysDescr, in each format discovery reads.

The sysDescr texts follow the formats of real devices (learnt from the tuning part of the shared
corpus); names, numbers and serials are changed.
"""

from __future__ import annotations

import pytest

from inventory.snmp.version import (
    model_after_maker,
    model_from_descr,
    serial_from_descr,
    version_from_descr,
)


@pytest.mark.parametrize(
    ("descr", "version"),
    [
        # Dell Networking OS / FTOS: the application's version, not the operating system's "2.0"
        ("Dell Networking OS Operating System Version: 2.0 Application Software Version: 9.14(1.0) Series: S4128F-ON", "9.14(1.0)"),
        ("Force10 Networks Real Time Operating System Software\nForce10 Operating System Version: 1.0\nForce10 Application Software Version: 8.4.1.2", "8.4.1.2"),
        ("Cisco IOS XR Software (Cisco ASR9K Series),  Version 6.1.4[Default]\r\nCopyright (c) 2018 by Cisco Systems, Inc.", "6.1.4"),
        ("HPE Comware Platform Software, Software Version 7.1.070, Release 3506P02\nHPE 5130-24G-4SFP+ EI Switch", "7.1.070"),
        ("HPE ANW JL658A 6300M Switch FL.10.12.1010", "FL.10.12.1010"),
        ("Allied Telesis router/switch, AW+ v5.5.2-1.3", "5.5.2-1.3"),
        ("DM4170 24GX (DmOS version 8.6.1-12-g4a2b3c4d)", "8.6.1-12-g4a2b3c4d"),
        ("Integrated Lights-Out 5 2.81 Jan 12 2023", "2.81"),
        ("FSP150-XG116 OptiSwitch Ver. 12_4_2 (10421)", "12_4_2"),
        ("Enterasys Networks, Inc. B5G124-24 Rev 06.81.02.0007", "06.81.02.0007"),
        ("Thomson DOCSIS Cable Modem <<HW_REV: 2.0; VENDOR: Thomson; SW_REV: ST61.01.02; MODEL: TCM471>>", "ST61.01.02"),
        ("TrueNAS-12.0-U8 (a1b2c3d4). Hardware: amd64 Intel(R) Xeon(R) CPU running at 2400", "12.0-U8"),
        ("pfSense fw1 2.6.0-RELEASE pfSense FreeBSD 12.3-STABLE amd64", "2.6.0-RELEASE"),
        ("Huawei Optix RTN V100R012C10SPC300", "V100R012C10SPC300"),
        # the short "MODEL VERSION" form of many small devices
        ("IPM-8400 1.31.2", "1.31.2"),
        ("SiteBoss 530 2.10.120 STD", "2.10.120"),
        ("Nokia 1830 PSS 8 R22.6", "R22.6"),
        ("LANCOM GS-3652X System - 48GE, 10.80.0112RU2, Linux 4.14.180", "10.80.0112RU2"),
        # bare numbers that are not the device's firmware
        ("Calix Gateway 10.17.100.1", None),
        ("ACME SNMP Agent 10.10", None),
        ("FreeBSD fw2 13.1-RELEASE FreeBSD 13.1-RELEASE amd64", None),
    ],
)  # fmt: skip
def test_the_version_a_vendor_writes_in_sysdescr(descr: str, version: str | None) -> None:
    assert version_from_descr(descr) == version


@pytest.mark.parametrize(
    ("descr", "model"),
    [
        # stated
        ("Dell Networking OS Operating System Version: 2.0 Application Software Version: 9.14(1.0) Series: S4128F-ON", "S4128F-ON"),
        ("DrayTek Corporation, Router Model: Vigor2927, Version: 4.4.1, Build Date/Time:Jan 2 2024", "Vigor2927"),
        ("Thomson DOCSIS Cable Modem <<HW_REV: 2.0; VENDOR: Thomson; SW_REV: ST61.01.02; MODEL: TCM471>>", "TCM471"),
        ("IPBS3[11.2.4], Bootcode[11.2.4], Hardware[IPBS3-A2/2C1]", "IPBS3-A2/2C1"),
        ("ExtremeXOS (X460G2-48p-10G4) version 30.7.1.1 by release-manager", "X460G2-48p-10G4"),
        ("Cisco IOS XR Software (Cisco NCS-5500 Series),  Version 7.3.2", "NCS-5500 Series"),
        ("HPE Comware Platform Software, Software Version 7.1.070, Release 3506P02\nHPE 5130-24G-4SFP+ EI Switch\r\nCopyright (c) 2010-2020 HPE", "5130-24G-4SFP+ EI Switch"),
        ("S6730-H24X6C\nHuawei Versatile Routing Platform Software \r\n VRP (R) software,Version 8.191", "S6730-H24X6C"),
        ("FS Campus Switch PoE (S3900-24T4S-P) By FS.COM Inc", "S3900-24T4S-P"),
        ("FSOS software, S5860 software (S5860 20SQ), Version 11.0(5)", "S5860 20SQ"),
        ("ALAXALA AX2530S AX-2530-24T [AX2530S-24T] Switching software Ver. 4.6 [OS-L2B]", "AX2530S-24T"),
        ("Ekinops 360 Platform, C200HC, Release 6.2.100", "C200HC"),
        # one product code, or a short product name less its version
        ("ECS4120-28Fv2", "ECS4120-28Fv2"),
        ("Dell UPS Rack 1920W HV", "Dell UPS Rack 1920W HV"),
        ("Expert Power Control 8226-2", "Expert Power Control 8226-2"),
        ("IPM-8400 1.31.2", "IPM-8400"),
        ("SiteBoss 530 2.10.120 STD", "SiteBoss 530"),
        ("RouterOS CCR2004-16G-2S+", "RouterOS CCR2004-16G-2S+"),
        # a product code opening a description
        ("SG550X-24 24-Port Gigabit Stackable Managed Switch", "SG550X-24"),
        ("AT-GS948MX/10 Gigabit Ethernet WebSmart Switch", "AT-GS948MX/10"),
        ("CRS326-24G-2S+ SwOS v2.13", "CRS326-24G-2S+"),
        # a product code named as a series, on a later line
        ("Acme Internetwork Operating System Software\r\nAOCM3950 Series Software, Version 2.1.0C Build 1", "AOCM3950"),
        # descriptions that name no product
        ("L2 managed 24G", None),
        ("8-Port Gigabit Smart Switch", None),
        ("Force10 Networks Real Time Operating System Software", None),
        ("Linux host 5.10.0-21-amd64 #1 SMP Debian 5.10.162-1 x86_64", None),
        ("Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3", None),
        ("ACME SNMP Agent 10.10", None),
        ("Temperature & Sensor Gateway", None),
    ],
)  # fmt: skip
def test_the_model_a_sysdescr_names(descr: str, model: str | None) -> None:
    assert model_from_descr(descr) == model


@pytest.mark.parametrize(
    ("descr", "serial"),
    [
        ("SNMP Smart II Card v1.05 (SN 31230031806099)", "31230031806099"),
        ("Midspan.  Unit S/N=000123.  App Ver=4.17.05.07", "000123"),
        ("RNX UPDU RN3208 (UPDU-Left), S/N: 200456, Version 2.7.1", "200456"),
        ("Router model RS420 S/N: RNPFDK000000777  SWL: BASE", "RNPFDK000000777"),
        ("Rittal LCP SN 51326500 HW V4.01 - SW V3.17.10", "51326500"),
        # "SN710A2" is a model, "Serial version" a word: no separator, no digit
        ("NS-BSD SN710A26XXXXXX amd64", None),
        ("SSG20-Serial version 6.3.0r24.0", None),
    ],
)
def test_the_serial_a_sysdescr_states(descr: str, serial: str | None) -> None:
    assert serial_from_descr(descr) == serial


def test_quotes_around_the_whole_sysdescr_are_not_part_of_it() -> None:
    assert version_from_descr('"SiteBoss 530 2.10.120 STD"') == "2.10.120"
    assert model_from_descr('"SiteBoss 530 2.10.120 STD"') == "SiteBoss 530"


def test_control_characters_and_kilobytes_of_text_never_reach_a_value() -> None:
    descr = "\x1b[2J\x07EX-2200 Core Router\x00, Version 4.2.1\r\n" + "\x1b[31mspam " * 2000
    assert model_from_descr(descr) == "EX-2200"
    assert version_from_descr(descr) == "4.2.1"
    # what a sysDescr holds after its first kilobyte is not read
    assert version_from_descr("x" * 2000 + " Version 9.9.9") is None


@pytest.mark.parametrize(
    ("descr", "maker", "model"),
    [
        # a product family's words between the maker's name and the code
        ("Omnitron iConverter GM4-HPOE 8991T11D v5.2.14 s/n 00421337 - GM4-PoE - x", "Omnitron Systems", "GM4-HPOE"),
        ("; AXIS Q1615; Network Camera; 9.80.1; Jan 12 2021 10:00; 1A2; 1;", "Axis Communications AB", "Q1615"),
        ("LANCOM XS-6128QF System - 24XE, 10.80.0112RU2, Linux 4.14.180", "LANCOM Systems", "XS-6128QF"),
        ("SEH myUTN-80; SN 12345678901234, HW 1.1, FW 15, SW 14.4.19", "SEH Computertechnik", "myUTN-80"),
        ("Eaton 9PX 3000 RT", "Eaton", "9PX"),
        # what comes first ends the search: a serial, a version, a value with a separator, the end of a clause
        ("Rittal CMC-TC SN 01234 HW V3.20 - SW V6.50.00", "Rittal", None),
        ("Acme v5.2.14 firmware", "Acme", None),
        ("APC Web/SNMP Management Card (MB:v3.8.6 PF:v3.5.7)", "APC", None),
        ("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4", "Cisco", None),
        # a processor, a version, a product line's two characters: not a model
        ("Acme Linux 5.10 x86_64", "Acme", None),
        ("Acme armv7l board", "Acme", None),
        ("MICROSENS G6 Switch, Version: 10.8.1", "MICROSENS", None),
        # the maker's name must be there, as a word
        ("GenieATM 6705 version: 7.2.1", "Genie Networks", None),
        ("Linux host 6.1.0-13-amd64 #1 SMP", "Acme", None),
    ],
)
def test_the_product_code_after_the_makers_name(descr: str, maker: str, model: str | None) -> None:
    assert model_after_maker(descr, maker) == model
