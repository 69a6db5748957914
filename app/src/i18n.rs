//! Every string the shopper reads, in each language the app speaks (English and German). Pages ask
//! [`t`] for a [`Msg`]; a missing translation does not compile, since the match is exhaustive.

use serde::{Deserialize, Serialize};

/// A language of the interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// BCP 47 tag, for `<html lang>` and number formatting.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's name in itself, as the picker shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    pub fn from_tag(tag: &str) -> Lang {
        Lang::ALL.into_iter().find(|l| l.tag() == tag).unwrap_or_default()
    }
}

/// One interface string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    SearchLabel,
    SearchButton,
    ForYou,
    BecauseYouViewed,
    Trending,
    Deals,
    RecentlyViewed,
    ResultsFor,
    NoResultsFor,
    NoResultsHint,
    TryAgain,
    ErrNetwork,
    ErrNotFound,
    ErrBadRequest,
    ErrServer,
    ErrDecode,
    AddToCart,
    InCart,
    SaveToWishlist,
    RemoveFromWishlist,
    Cart,
    Wishlist,
    Settings,
    CartEmpty,
    Subtotal,
    Checkout,
    CheckoutOffline,
    CheckoutCancelled,
    CheckoutFailed,
    OrderPaid,
    OrderPaidBody,
    Quantity,
    Remove,
    Increase,
    Decrease,
    WishlistEmpty,
    ViewedEmpty,
    Language,
    Currency,
    CurrencyAuto,
    Personalize,
    PersonalizeHelp,
    Measure,
    MeasureHelp,
    ClearHistory,
    HistoryCleared,
    SimilarItems,
    BoughtTogether,
    DeliveryIn,
    Days,
    SortBy,
    SortRelevance,
    SortPriceAsc,
    SortPriceDesc,
    SortNewest,
    Category,
    Price,
    AllCategories,
    AnyPrice,
    Previous,
    Next,
    Page,
    Offline,
    OnDevice,
    BackToShop,
    PageNotFound,
    Categories,
    Featured,
    Popular,
    Off,
    DayDelivery,
    RegularPrice,
    Loading,
}

/// The text of `msg` in `lang`.
pub fn t(lang: Lang, msg: Msg) -> &'static str {
    use Msg::*;
    match lang {
        Lang::En => match msg {
            SearchLabel => "Search products",
            SearchButton => "Search",
            ForYou => "For you",
            BecauseYouViewed => "Because you viewed",
            Trending => "Trending",
            Deals => "Deals",
            RecentlyViewed => "Recently viewed",
            ResultsFor => "results for",
            NoResultsFor => "No results for",
            NoResultsHint => {
                "Check the spelling, or try a shorter or more general word such as “chair” or “paper”."
            }
            TryAgain => "Try again",
            ErrNetwork => "We couldn't reach the shop. Check your connection and try again.",
            ErrNotFound => "We couldn't find that.",
            ErrBadRequest => "That didn't work:",
            ErrServer => "The shop is having trouble right now. Please try again shortly.",
            ErrDecode => "Something went wrong reading the shop's answer. Please try again.",
            AddToCart => "Add to cart",
            InCart => "In cart",
            SaveToWishlist => "Save to wishlist",
            RemoveFromWishlist => "Remove from wishlist",
            Cart => "Cart",
            Wishlist => "Wishlist",
            Settings => "Settings",
            CartEmpty => "Your cart is empty.",
            Subtotal => "Subtotal",
            Checkout => "Checkout",
            CheckoutOffline => "Checkout needs a connection. Your cart is kept on this device.",
            CheckoutCancelled => "Payment cancelled. Your cart is as you left it.",
            CheckoutFailed => "Checkout could not start:",
            OrderPaid => "Thank you for your order",
            OrderPaidBody => {
                "Your payment went through. The receipt comes by e-mail from our payment provider."
            }
            Quantity => "Quantity",
            Remove => "Remove",
            Increase => "One more",
            Decrease => "One less",
            WishlistEmpty => "Your wishlist is empty. Tap “Save to wishlist” on a product to keep it here.",
            ViewedEmpty => "Products you look at appear here.",
            Language => "Language",
            Currency => "Currency",
            CurrencyAuto => "Automatic (from your country)",
            Personalize => "Personalize with my history on this device",
            PersonalizeHelp => {
                "Your history stays on this device. When this is off, none of it is sent to the shop."
            }
            Measure => "Help improve the shop",
            MeasureHelp => {
                "Counts what you are shown and what you click, add to cart or save, without knowing who you are: a random id that puts this device in a test group, a session id renewed daily, no history. Off: neither is made and nothing is sent."
            }
            ClearHistory => "Clear history",
            HistoryCleared => "History cleared.",
            SimilarItems => "Similar items",
            BoughtTogether => "Frequently bought together",
            DeliveryIn => "Delivery in",
            Days => "days",
            SortBy => "Sort by",
            SortRelevance => "Relevance",
            SortPriceAsc => "Price: low to high",
            SortPriceDesc => "Price: high to low",
            SortNewest => "Newest",
            Category => "Category",
            Price => "Price",
            AllCategories => "All categories",
            AnyPrice => "Any price",
            Previous => "Previous",
            Next => "Next",
            Page => "Page",
            Offline => "You're offline. Showing what's saved on this device, ranked on the device.",
            OnDevice => "Ranked on your device",
            BackToShop => "← Back to the shop",
            PageNotFound => "Page not found",
            Categories => "Categories",
            Featured => "Featured",
            Popular => "popular",
            Off => "off",
            DayDelivery => "-day delivery",
            RegularPrice => "regular price",
            Loading => "Loading products",
        },
        Lang::De => match msg {
            SearchLabel => "Produkte suchen",
            SearchButton => "Suchen",
            ForYou => "Für dich",
            BecauseYouViewed => "Weil du dir angesehen hast:",
            Trending => "Beliebt",
            Deals => "Angebote",
            RecentlyViewed => "Zuletzt angesehen",
            ResultsFor => "Ergebnisse für",
            NoResultsFor => "Keine Ergebnisse für",
            NoResultsHint => {
                "Prüfe die Schreibweise oder versuche ein kürzeres, allgemeineres Wort wie „chair“ oder „paper“."
            }
            TryAgain => "Erneut versuchen",
            ErrNetwork => "Der Shop ist nicht erreichbar. Prüfe deine Verbindung und versuche es erneut.",
            ErrNotFound => "Das haben wir nicht gefunden.",
            ErrBadRequest => "Das hat nicht geklappt:",
            ErrServer => "Der Shop hat gerade Probleme. Bitte versuche es gleich noch einmal.",
            ErrDecode => "Die Antwort des Shops war nicht lesbar. Bitte versuche es erneut.",
            AddToCart => "In den Warenkorb",
            InCart => "Im Warenkorb",
            SaveToWishlist => "Auf die Wunschliste",
            RemoveFromWishlist => "Von der Wunschliste entfernen",
            Cart => "Warenkorb",
            Wishlist => "Wunschliste",
            Settings => "Einstellungen",
            CartEmpty => "Dein Warenkorb ist leer.",
            Subtotal => "Zwischensumme",
            Checkout => "Zur Kasse",
            CheckoutOffline => "Die Kasse braucht eine Verbindung. Dein Warenkorb bleibt auf diesem Gerät.",
            CheckoutCancelled => "Zahlung abgebrochen. Dein Warenkorb ist unverändert.",
            CheckoutFailed => "Die Kasse konnte nicht öffnen:",
            OrderPaid => "Danke für deine Bestellung",
            OrderPaidBody => {
                "Deine Zahlung ist eingegangen. Den Beleg schickt dir unser Zahlungsanbieter per E-Mail."
            }
            Quantity => "Menge",
            Remove => "Entfernen",
            Increase => "Eins mehr",
            Decrease => "Eins weniger",
            WishlistEmpty => "Deine Wunschliste ist leer. Tippe bei einem Produkt auf „Auf die Wunschliste“.",
            ViewedEmpty => "Produkte, die du dir ansiehst, erscheinen hier.",
            Language => "Sprache",
            Currency => "Währung",
            CurrencyAuto => "Automatisch (nach deinem Land)",
            Personalize => "Mit meinem Verlauf auf diesem Gerät personalisieren",
            PersonalizeHelp => {
                "Dein Verlauf bleibt auf diesem Gerät. Ist dies aus, wird nichts davon an den Shop gesendet."
            }
            Measure => "Hilf, den Shop zu verbessern",
            MeasureHelp => {
                "Zählt, was dir gezeigt wird und was du anklickst, in den Warenkorb legst oder merkst, ohne zu wissen, wer du bist: eine zufällige Kennung für die Testgruppe dieses Geräts, eine täglich neue Sitzungskennung, kein Verlauf. Aus: nichts davon wird erzeugt oder gesendet."
            }
            ClearHistory => "Verlauf löschen",
            HistoryCleared => "Verlauf gelöscht.",
            SimilarItems => "Ähnliche Artikel",
            BoughtTogether => "Wird oft zusammen gekauft",
            DeliveryIn => "Lieferung in",
            Days => "Tagen",
            SortBy => "Sortieren nach",
            SortRelevance => "Relevanz",
            SortPriceAsc => "Preis: aufsteigend",
            SortPriceDesc => "Preis: absteigend",
            SortNewest => "Neueste",
            Category => "Kategorie",
            Price => "Preis",
            AllCategories => "Alle Kategorien",
            AnyPrice => "Jeder Preis",
            Previous => "Zurück",
            Next => "Weiter",
            Page => "Seite",
            Offline => {
                "Du bist offline. Angezeigt wird, was auf diesem Gerät gespeichert ist, auf dem Gerät sortiert."
            }
            OnDevice => "Auf deinem Gerät sortiert",
            BackToShop => "← Zurück zum Shop",
            PageNotFound => "Seite nicht gefunden",
            Categories => "Kategorien",
            Featured => "Empfohlen",
            Popular => "beliebt",
            Off => "günstiger",
            DayDelivery => " Tage Lieferzeit",
            RegularPrice => "regulärer Preis",
            Loading => "Produkte werden geladen",
        },
    }
}
