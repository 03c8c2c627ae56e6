#include "t30/classify.hpp"

#include "t30/spandsp.hpp"

namespace faxd::t30 {

FailureClass ClassifyCompletion(int code, bool had_contact) {
    switch (code) {
        case T30_ERR_OK:
            return FailureClass::kNone;
        // Phase A: nobody spoke fax.
        case T30_ERR_CEDTONE:
        case T30_ERR_T0_EXPIRED:
        case T30_ERR_T1_EXPIRED:
        // Our command went unanswered three times (T.30 §5.4.3): nobody there, or nobody any more.
        case T30_ERR_RETRYDCN:
            return had_contact ? FailureClass::kCallDropped : FailureClass::kNoFax;
        case T30_ERR_CANNOT_TRAIN:
        case T30_ERR_TX_BADDCS:
            return FailureClass::kTrainingFailed;
        case T30_ERR_INCOMPATIBLE:
        case T30_ERR_RX_INCAPABLE:
        case T30_ERR_TX_INCAPABLE:
        case T30_ERR_NORESSUPPORT:
        case T30_ERR_NOSIZESUPPORT:
            return FailureClass::kIncompatible;
        // The far end went away: it stopped answering or disconnected in the middle.
        case T30_ERR_TX_PHBDEAD:
        case T30_ERR_TX_PHDDEAD:
        case T30_ERR_TX_T5EXP:
        case T30_ERR_TX_BADPG:
        case T30_ERR_RX_NOCARRIER:
        case T30_ERR_RX_NOFAX:
        case T30_ERR_RX_T2EXPDCN:
        case T30_ERR_RX_T2EXPD:
        case T30_ERR_RX_T2EXPFAX:
        case T30_ERR_RX_T2EXPMPS:
        case T30_ERR_RX_T2EXPRR:
        case T30_ERR_RX_T2EXP:
        case T30_ERR_RX_DCNDATA:
        case T30_ERR_RX_DCNFAX:
        case T30_ERR_RX_DCNPHD:
        case T30_ERR_RX_DCNRRD:
        case T30_ERR_RX_DCNNORTN:
        case T30_ERR_CALLDROPPED:
            return FailureClass::kCallDropped;
        // A DCN where a DIS, DCS or CFR belongs: the far end refused the call in phase B.
        case T30_ERR_TX_GOTDCN:
        case T30_ERR_RX_DCNWHY:
        case T30_ERR_NOPOLL:
        case T30_ERR_IDENT_UNACCEPTABLE:
        case T30_ERR_SUB_UNACCEPTABLE:
        case T30_ERR_SEP_UNACCEPTABLE:
        case T30_ERR_PSA_UNACCEPTABLE:
        case T30_ERR_SID_UNACCEPTABLE:
        case T30_ERR_PWD_UNACCEPTABLE:
        case T30_ERR_TSA_UNACCEPTABLE:
        case T30_ERR_IRA_UNACCEPTABLE:
        case T30_ERR_CIA_UNACCEPTABLE:
        case T30_ERR_ISP_UNACCEPTABLE:
        case T30_ERR_CSA_UNACCEPTABLE:
            return FailureClass::kRejected;
        case T30_ERR_FILEERROR:
        case T30_ERR_NOPAGE:
        case T30_ERR_BADTIFF:
        case T30_ERR_BADPAGE:
        case T30_ERR_BADTAG:
        case T30_ERR_BADTIFFHDR:
            return FailureClass::kDocumentError;
        case T30_ERR_NOMEM:
            return FailureClass::kInternal;
        default:
            // T30_ERR_HDLC_CARRIER, T30_ERR_OPER_INT_FAIL, T30_ERR_UNEXPECTED, *_ECMPHD, *_INVAL*, TX_NODIS,
            // RX_GOTDCS, RX_NOEOL: the exchange went wrong.
            return FailureClass::kProtocolError;
    }
}

}  // namespace faxd::t30
