"""Small camt files written for one property each, in any version, with or without namespace."""

from __future__ import annotations

from dataclasses import dataclass, field

MESSAGES = {"052": ("BkToCstmrAcctRpt", "Rpt"), "053": ("BkToCstmrStmt", "Stmt"),
            "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}  # fmt: skip


@dataclass
class Tx:
    amount: str | None = "10.00"
    indicator: str | None = None
    end_to_end: str = "E2E-1"
    mandate: str = ""
    debtor: str = "Erika Mustermann"
    debtor_iban: str = "DE02120300000000202051"
    debtor_bic: str = "BYLADEM1001"
    creditor: str = "Stadt Musterhausen"
    ustrd: tuple[str, ...] = ("KZ 1234.5678.9",)
    strd_ref: str = ""
    return_reason: str = ""
    charges: str = ""


@dataclass
class Entry:
    amount: str = "10.00"
    indicator: str = "CRDT"
    reversal: bool = False
    booking: str = "2026-11-30"
    value: str = "2026-12-01"
    reference: str = "REF-1"
    batch_count: int | None = None
    charges: str = ""
    txs: list[Tx] = field(default_factory=lambda: [Tx()])


def _party(version: int, role: str, name: str) -> str:
    if not name:
        return ""
    inner = f"<Nm>{name}</Nm>"
    return f"<{role}><Pty>{inner}</Pty></{role}>" if version >= 8 else f"<{role}>{inner}</{role}>"


def _tx(version: int, tx: Tx) -> str:
    bic = "BICFI" if version >= 4 else "BIC"
    amount = ""
    if tx.amount is not None:
        amount = (
            f'<Amt Ccy="EUR">{tx.amount}</Amt>'
            if version >= 4
            else f'<AmtDtls><TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt></AmtDtls>'
        )
    indicator = f"<CdtDbtInd>{tx.indicator}</CdtDbtInd>" if tx.indicator and version >= 4 else ""
    refs = f"<EndToEndId>{tx.end_to_end}</EndToEndId>"
    if tx.mandate:
        refs += f"<MndtId>{tx.mandate}</MndtId>"
    remittance = "".join(f"<Ustrd>{text}</Ustrd>" for text in tx.ustrd)
    if tx.strd_ref:
        remittance += f"<Strd><CdtrRefInf><Ref>{tx.strd_ref}</Ref></CdtrRefInf></Strd>"
    returned = (
        f"<RtrInf><Rsn><Cd>{tx.return_reason}</Cd></Rsn></RtrInf>" if tx.return_reason else ""
    )
    charges = (
        f'<Chrgs><Rcrd><Amt Ccy="EUR">{tx.charges}</Amt></Rcrd></Chrgs>'
        if tx.charges and version >= 3
        else ""
    )
    return (
        f"<TxDtls><Refs>{refs}</Refs>{amount}{indicator}{charges}"
        f"<RltdPties>{_party(version, 'Dbtr', tx.debtor)}"
        f"<DbtrAcct><Id><IBAN>{tx.debtor_iban}</IBAN></Id></DbtrAcct>"
        f"{_party(version, 'Cdtr', tx.creditor)}</RltdPties>"
        f"<RltdAgts><DbtrAgt><FinInstnId><{bic}>{tx.debtor_bic}</{bic}></FinInstnId></DbtrAgt>"
        f"</RltdAgts><RmtInf>{remittance}</RmtInf>{returned}</TxDtls>"
    )


def _entry(version: int, entry: Entry) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    batch = (
        f"<Btch><NbOfTxs>{entry.batch_count}</NbOfTxs></Btch>"
        if entry.batch_count is not None
        else ""
    )
    details = f"<NtryDtls>{batch}{''.join(_tx(version, tx) for tx in entry.txs)}</NtryDtls>"
    if not entry.txs and not batch:
        details = ""
    charges = (
        f'<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">{entry.charges}</TtlChrgsAndTaxAmt></Chrgs>'
        if entry.charges and version >= 3
        else (f'<Chrgs><Amt Ccy="EUR">{entry.charges}</Amt></Chrgs>' if entry.charges else "")
    )
    reversal = "<RvslInd>true</RvslInd>" if entry.reversal else ""
    return (
        f'<Ntry><NtryRef>N-1</NtryRef><Amt Ccy="EUR">{entry.amount}</Amt>'
        f"<CdtDbtInd>{entry.indicator}</CdtDbtInd>{reversal}{status}"
        f"<BookgDt><Dt>{entry.booking}</Dt></BookgDt><ValDt><Dt>{entry.value}</Dt></ValDt>"
        f"<AcctSvcrRef>{entry.reference}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd>{charges}{details}</Ntry>"
    )


def camt(
    *entries: Entry,
    kind: str = "053",
    version: int = 8,
    namespace: bool = True,
    prefix_only: bool = False,
    statement_id: str = "STMT-1",
) -> bytes:
    message, statement = MESSAGES[kind]
    uri = f"urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version:02d}"
    if prefix_only:
        declaration = f' xmlns:n0="{uri}"'
    elif namespace:
        declaration = f' xmlns="{uri}"'
    else:
        declaration = ""
    body = "".join(_entry(version, entry) for entry in (entries or (Entry(),)))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document{declaration}><{message}>'
        "<GrpHdr><MsgId>M-1</MsgId><CreDtTm>2026-12-01T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<{statement}><Id>{statement_id}</Id><ElctrncSeqNb>42</ElctrncSeqNb>"
        "<CreDtTm>2026-12-01T06:00:00.1234567+01:00</CreDtTm>"
        "<Acct><Id><IBAN>DE89 3704 0044 0532 0130 00</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt>'
        "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-11-30</Dt></Dt></Bal>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">250.50</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>"
        f"{body}</{statement}></{message}></Document>\n"
    ).encode()
